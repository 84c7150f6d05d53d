"""The service's schedule: one job per source plus analysis, delivery, digest, housekeeping.

Every job runs once right after start, never overlaps itself
(``max_instances=1``) and, after a suspend or downtime, runs once for all
the runs it missed (``coalesce`` with an unlimited misfire grace).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from heavylegs.alerts.quiet import digest_time, quiet_hours
from heavylegs.service import jobs
from heavylegs.service.watch import FolderWatcher
from heavylegs.settings import Settings
from heavylegs.sources.store import list_sources, source_config

log = logging.getLogger("heavylegs.service")

FOLDER_KINDS = {"folder"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """The running service's jobs on an APScheduler, each through one ``jobs.JobRunner``."""

    def __init__(self, engine: Engine, settings: Settings, observe: Callable[[str, float, bool], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.job_runner = jobs.JobRunner(engine, settings, observe)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=timezone.utc,
        )
        self.source_jobs: dict[str, tuple[int, str, str]] = {}  # job id -> (source id, kind, name)
        self.on_new_data: list[Callable[[str, jobs.JobOutcome], None]] = []
        self.watcher: FolderWatcher | None = None
        self._lock = threading.RLock()
        self._running: set[str] = set()
        self._rerun: set[str] = set()
        # The stop signal, passed to every job that works in units (files, pages, deliveries).
        self.stopping = threading.Event()

    # ---- helpers -------------------------------------------------------
    @staticmethod
    def _interval(seconds: float) -> float:
        return max(0.05, seconds)

    def _add(self, job_id: str, fn: Callable[[], Any], trigger: Any) -> None:
        self.scheduler.add_job(self._guarded, trigger, args=(job_id, fn), id=job_id, name=job_id, next_run_time=_now(), replace_existing=True)

    def _guarded(self, job_id: str, fn: Callable[[], Any]) -> None:
        with self._lock:
            self._running.add(job_id)
        try:
            fn()
        finally:
            with self._lock:
                self._running.discard(job_id)
                again = job_id in self._rerun
                self._rerun.discard(job_id)
            if again:
                self.wake_job(job_id)

    def wake_job(self, job_id: str) -> bool:
        """Run a job now, or right after its current run (a wake during a run must not be lost)."""
        if self.stopping.is_set():
            return False
        with self._lock:
            if job_id in self._running:
                self._rerun.add(job_id)
                return True
        try:
            self.scheduler.modify_job(job_id, next_run_time=_now())
            return True
        except Exception:  # JobLookupError: removed meanwhile, or the scheduler has stopped
            return False

    def wake_sources(self, kind: str) -> int:
        """Run every enabled source of ``kind`` soon (Strava's webhook calls this)."""
        self.reconcile()
        with self._lock:
            ids = [job_id for job_id, (_, k, _) in self.source_jobs.items() if k == kind]
        return sum(self.wake_job(job_id) for job_id in ids)

    # ---- job bodies ----------------------------------------------------
    def _source(self, job_id: str, source_id: int, label: str) -> None:
        outcome = self.job_runner.run(job_id, label, lambda: jobs.sync_source(self.engine, self.settings, source_id, self.stopping))
        if outcome.new_data:
            for callback in self.on_new_data:
                callback(job_id, outcome)
            self.wake_job("analysis")

    def _analysis(self) -> None:
        outcome = self.job_runner.run("analysis", "analysis", lambda: jobs.analysis(self.engine, self.settings))
        if outcome.counts.get("alerts_queued", 1):
            self.wake_job("deliver")

    def _deliver(self) -> None:
        self.job_runner.run("deliver", "deliver", lambda: jobs.deliver(self.engine, self.settings, stop=self.stopping))

    def _digest(self) -> None:
        self.job_runner.run("digest", "digest", lambda: jobs.digest(self.engine, self.settings))

    def _housekeeping(self) -> None:
        self.job_runner.run("housekeeping", "housekeeping", lambda: jobs.housekeeping(self.engine, self.settings))

    # ---- schedule ------------------------------------------------------
    def reconcile(self) -> None:
        """Match the source jobs to the sources table (sources come and go while we run)."""
        if self.stopping.is_set():
            return
        wanted = {}
        folders: dict[str, str] = {}
        for src in list_sources(self.engine, enabled_only=True):
            prefix = "scan" if src.kind in FOLDER_KINDS else "sync"
            wanted[f"{prefix}:{src.name}"] = (int(src.id), src.kind, src.name)
            if src.kind in FOLDER_KINDS:
                folders[f"{prefix}:{src.name}"] = str(source_config(src).get("path", ""))
        with self._lock:
            for job_id in list(self.source_jobs):
                if self.source_jobs[job_id] != wanted.get(job_id):
                    self.source_jobs.pop(job_id)
                    try:
                        self.scheduler.remove_job(job_id)
                    except Exception:
                        pass
            for job_id, (source_id, kind, name) in wanted.items():
                if job_id in self.source_jobs:
                    continue
                self.source_jobs[job_id] = (source_id, kind, name)
                seconds = self._interval(self.settings.cfg.service.source_interval_s("folder" if kind in FOLDER_KINDS else kind))
                label = f"{job_id.split(':')[0]} {kind}={name}"
                self._add(job_id, partial(self._source, job_id, source_id, label), IntervalTrigger(seconds=seconds))
        if self.watcher is not None:
            self.watcher.update(folders)

    def _add_digest(self) -> None:
        """The digest at ``alerts.digest_time`` in every configured athlete time zone (the default athlete's is ``digest``)."""
        quiet_hours(self.settings.cfg.alerts)  # a malformed value stops the start, not every delivery later
        at = digest_time(self.settings.cfg.alerts)
        if at is None:
            return
        for i, tz in enumerate(self.settings.athletes.zones()):
            job_id = "digest" if i == 0 else f"digest:{tz}"
            # A time of day, and like every job it also runs at start: each run queues the digest only
            # for athletes whose local time has passed digest_time and who have none for today yet, so
            # a start after downtime catches up the day's missed digest once, and an early start sends none.
            self.scheduler.add_job(self._guarded, CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
                                   args=(job_id, self._digest), id=job_id, name=job_id, replace_existing=True,
                                   next_run_time=_now())

    def start(self) -> None:
        self.stopping.clear()
        self._add_digest()  # first: a config error stops the start before any job is scheduled
        conf = self.settings.cfg.service
        self._add("analysis", self._analysis, IntervalTrigger(seconds=self._interval(conf.analysis_interval_s)))
        self._add("deliver", self._deliver, IntervalTrigger(seconds=self._interval(conf.deliver_interval_s)))
        self._add("housekeeping", self._housekeeping, IntervalTrigger(seconds=self._interval(conf.housekeeping_interval_s)))
        if conf.watch_files:
            self.watcher = FolderWatcher(self.wake_job)
        self.reconcile()
        self.scheduler.start()

    def alive(self) -> bool:
        thread = getattr(self.scheduler, "_thread", None)
        return bool(self.scheduler.running and thread is not None and thread.is_alive())

    def next_runs(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for job in self.scheduler.get_jobs():
            out[job.id] = job.next_run_time.timestamp() if job.next_run_time else None
        return out

    def stop(self, timeout: float) -> bool:
        """Stop scheduling, let running jobs finish their unit of work; False if they overran."""
        self.stopping.set()
        if self.watcher is not None:
            self.watcher.stop()
        if not self.scheduler.running:
            return True
        done = threading.Event()

        def _shutdown() -> None:
            try:
                self.scheduler.shutdown(wait=True)
            finally:
                done.set()

        threading.Thread(target=_shutdown, name="scheduler-shutdown", daemon=True).start()
        return done.wait(timeout)
