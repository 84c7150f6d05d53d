"""The service's jobs and the wrapper that records every run.

Each run is recorded in ``job_runs`` (start, end, outcome, error, summary)
and logged as ONE line with its counts, e.g.
``scan folder=watch new=3 dup=1 failed=0 in 0.4s``. Jobs are idempotent, so
a run cut short by a crash is simply done again by the next run.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, delete, insert, select, update

from heavylegs.alerts.delivery import AlertsContext, deliver_due
from heavylegs.alerts.digest import send_digest
from heavylegs.alerts.engine import check
from heavylegs.alerts.model import DeliveryStatus
from heavylegs.alerts.tables import alert_attempts, alert_deliveries
from heavylegs.alerts.transports.base import ChannelEnv
from heavylegs.metrics.recompute import recompute_dirty
from heavylegs.service import summary as summaries
from heavylegs.service.envs import analysis_env, source_env
from heavylegs.settings import Settings
from heavylegs.sources.base import SyncResult
from heavylegs.sources.registry import get_kind
from heavylegs.sources.store import get_source_by_id, record_result
from heavylegs.store.tables import job_runs, sources
from heavylegs.strava.records import apply_retention

log = logging.getLogger("heavylegs.service")
FINISHED: tuple[DeliveryStatus, ...] = ("delivered", "failed")  # deliveries whose attempt log may be pruned


@dataclass
class JobOutcome:
    summary: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # a job can fail softly (e.g. a source reports an error)
    new_data: bool = False


@dataclass
class JobStats:
    """In-process view of each job for /healthz and /metrics."""

    last_start: float | None = None
    last_end: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_duration_s: float | None = None
    runs: int = 0
    failures: int = 0


def _record(engine: Engine, job: str, start: float, end: float, outcome: str, error: str | None, summary: str) -> None:
    with engine.begin() as conn:
        row = conn.execute(select(job_runs.c.runs, job_runs.c.failures).where(job_runs.c.job == job)).first()
        values = {
            "last_start_ts": start, "last_end_ts": end, "last_outcome": outcome,
            "last_error": (error or None) and error[:4000], "last_summary": summary[:2000],
        }
        failed = 1 if outcome != "ok" else 0
        if row is None:
            conn.execute(insert(job_runs).values(job=job, runs=1, failures=failed, **values))
        else:
            conn.execute(update(job_runs).where(job_runs.c.job == job).values(runs=row.runs + 1, failures=row.failures + failed, **values))


def _line(name: str, outcome: JobOutcome, seconds: float) -> str:
    parts = [name]
    parts += [f"{k}={v}" for k, v in outcome.counts.items()]
    if outcome.summary:
        parts.append(outcome.summary)
    if outcome.error:
        parts.append(f"error={outcome.error!r}")
    return " ".join(parts) + f" in {seconds:.1f}s"


class JobRunner:
    """Runs a job body, records it and keeps the in-process stats."""

    def __init__(self, engine: Engine, settings: Settings, observe: Callable[[str, float, bool], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.stats: dict[str, JobStats] = {}
        self.observe = observe

    def run(self, job: str, label: str, body: Callable[[], JobOutcome]) -> JobOutcome:
        stats = self.stats.setdefault(job, JobStats())
        start = time.time()
        stats.last_start = start
        try:
            outcome = body()
        except Exception as exc:  # a failing job must not kill the scheduler
            outcome = JobOutcome(error=f"{type(exc).__name__}: {exc}")
            log.debug("%s traceback:\n%s", job, traceback.format_exc())
        end = time.time()
        status = "ok" if outcome.error is None else "error"
        stats.last_end, stats.last_outcome, stats.last_error = end, status, outcome.error
        stats.last_duration_s = end - start
        stats.runs += 1
        stats.failures += status != "ok"
        if self.observe is not None:
            self.observe(job, end - start, status == "ok")
        (log.info if status == "ok" else log.warning)(_line(label, outcome, end - start))
        try:
            _record(self.engine, job, start, end, status, outcome.error, outcome.summary)
        except Exception as exc:  # the database may be the thing that is down
            log.warning("could not record job %s: %s", job, exc)
        return outcome


def sync_source(engine: Engine, settings: Settings, source_id: int, stop: threading.Event | None = None) -> JobOutcome:
    """One source's scan or sync, with the outcome stored on its row."""
    source = get_source_by_id(engine, source_id)
    if source is None or not source.enabled:
        return JobOutcome(summary="source removed or disabled")
    now = datetime.now(timezone.utc)
    try:
        result = get_kind(source.kind).sync(engine, source_env(settings), source, now, stop=stop)
    except Exception as exc:
        result = SyncResult(status="error", error=f"{type(exc).__name__}: {exc}")
    record_result(engine, source_id, result, now.timestamp())
    return JobOutcome(
        summary=result.summary,
        counts={"new": result.new, "dup": result.duplicates, "failed": result.failed},
        error=None if result.status == "ok" else (result.error or result.status),
        new_data=result.new > 0,
    )


def channel_env(settings: Settings) -> ChannelEnv:
    """What the alert channels are built from (also for `heavylegs run`'s start checks and the CLI)."""
    return ChannelEnv(settings.cfg.alerts, settings.cfg.smtp, settings.secrets, settings.data_dir)


def alerts_context(settings: Settings) -> AlertsContext:
    """What checking, delivering and the digest read."""
    return AlertsContext(channel_env(settings), settings.athletes)


def analysis(engine: Engine, settings: Settings) -> JobOutcome:
    """Recompute athletes whose data changed, then evaluate the alert rules."""
    counts = {"recomputed": len(recompute_dirty(engine, analysis_env(settings)) or [])}
    counts |= summaries.counts(check(engine, alerts_context(settings), datetime.now(timezone.utc)), "alerts")
    return JobOutcome(counts=counts)


def deliver(engine: Engine, settings: Settings, force: bool = False, stop: threading.Event | None = None) -> JobOutcome:
    return JobOutcome(counts=summaries.counts(deliver_due(engine, alerts_context(settings), datetime.now(timezone.utc), force=force, stop=stop), ""))


def digest(engine: Engine, settings: Settings) -> JobOutcome:
    return JobOutcome(counts=summaries.counts(send_digest(engine, alerts_context(settings), datetime.now(timezone.utc)), ""))


def housekeeping(engine: Engine, settings: Settings) -> JobOutcome:
    """Strava raw-data retention, old delivery-attempt logs, job rows of removed sources."""
    now = datetime.now(timezone.utc)
    counts = {"strava_raw": summaries.as_int(apply_retention(engine, settings.cfg.strava, now))}
    counts["attempts"] = prune_attempts(engine, settings.cfg.service.attempts_retention_days, now.timestamp())
    counts["stale_jobs"] = prune_job_rows(engine)
    return JobOutcome(counts=counts)


def prune_attempts(engine: Engine, days: float, now_ts: float) -> int:
    """Drop the per-attempt log of finished deliveries after ``days`` (the delivery row stays)."""
    if days <= 0:
        return 0
    finished = select(alert_deliveries.c.id).where(alert_deliveries.c.status.in_(FINISHED))
    with engine.begin() as conn:
        done = conn.execute(delete(alert_attempts).where(alert_attempts.c.ts < now_ts - days * 86400,
                                                         alert_attempts.c.delivery_id.in_(finished)))
    return int(done.rowcount or 0)


def prune_job_rows(engine: Engine) -> int:
    """Forget the job history of sources that were disconnected."""
    with engine.begin() as conn:
        names = {r[0] for r in conn.execute(select(sources.c.name))}
        stale = [
            job for (job,) in conn.execute(select(job_runs.c.job))
            if job.split(":", 1)[0] in ("scan", "sync") and job.split(":", 1)[-1] not in names
        ]
        if stale:
            conn.execute(delete(job_runs).where(job_runs.c.job.in_(stale)))
    return len(stale)
