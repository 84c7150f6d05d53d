"""Backfill: plan before spending, pause/resume under tight limits, kill -9, only the gap."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from heavylegs.service.envs import source_env
from heavylegs.settings import Settings, load_settings
from heavylegs.sources.store import get_source
from heavylegs.store.activities import SourceRef, get_or_create_athlete, store_activity
from heavylegs.store.db import make_engine, migrate
from heavylegs.store.tables import activities, activity_sources
from heavylegs.strava import backfill
from heavylegs.strava.tokens import make_budget, source_client
from ingest.model import Activity, Streams
from tests.helpers import poll
from tests.strava_fake import FakeClock, StravaFake, config_toml, seed_connection, strava_settings, synthetic_run

T0 = datetime(2021, 1, 4, 6, 30, tzinfo=timezone.utc)
NOW = datetime(2024, 6, 3, 12, 1, tzinfo=timezone.utc).timestamp()


def _populate(fake: StravaFake, n: int) -> list[int]:
    for i in range(n):
        summary, streams = synthetic_run(10_000 + i, T0 + timedelta(hours=20 * i), duration_s=1800 + i % 600, distance_m=5000.0 + 3 * i)
        fake.add(summary, streams)
    return [10_000 + i for i in range(n)]


def _run(engine: Engine, settings: Settings, clock: FakeClock, *, wait: bool, waits: list[float] | None = None, **kw: Any) -> backfill.Report:
    source = get_source(engine, "strava")
    client, _ = source_client(engine, source_env(settings), int(source.id), budget=make_budget(source_env(settings), clock=clock, sleep=clock.advance),
                              use_reserve=False, clock=clock)
    try:
        return backfill.run(engine, source_env(settings), source, client, wait=wait, on_wait=None if waits is None else waits.append, **kw)
    finally:
        client.close()


def _sqlite(tmp_path: Path, fake: StravaFake) -> tuple[Settings, Engine]:
    settings = strava_settings(load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'hl.db'}", environ={}), fake)
    engine = make_engine(settings.db_url)
    migrate(engine)
    return settings, engine


def test_thousand_activities_pause_and_resume_without_429_or_refetch(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    fake = StravaFake(clock=clock, read_limits=(100, 2000), overall_limits=(200, 4000)).start()
    try:
        settings, engine = _sqlite(tmp_path, fake)
        ids = _populate(fake, 1000)
        seed_connection(engine, settings, fake)
        reports = []
        while True:
            report = _run(engine, settings, clock, wait=False)
            reports.append(report)
            if report.status == "done":
                break
            assert report.status == "paused" and report.resume_at is not None
            assert report.resume_at % 900 == 0 and 0 < report.resume_at - clock() <= 900  # the next quarter hour
            clock.advance(report.resume_at - clock())
            assert len(reports) < 20
        # 90 requests per window (10% reserve), minus the /athlete check and the 6 list pages.
        assert len(reports) == 12
        assert 429 not in fake.statuses()
        assert sorted(fake.stream_ids()) == ids  # every activity fetched exactly once
        assert len(fake.requests_to("/athlete/activities$")) == 6  # listing is never repeated
        assert sum(r.fetched for r in reports) == 1000
        final = reports[-1]
        assert (final.listed, final.already_present + final.fetched, final.failed) == (1000, 1000, [])
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(activities)).scalar() == 1000
        per_window = Counter(int(c.ts // 900) for c in fake.calls if c.path.startswith("/api/"))
        assert max(per_window.values()) <= 90
        # A rerun spends one request (the usage check) and one empty page... nothing else.
        before = len(fake.calls)
        again = _run(engine, settings, clock, wait=False)
        assert again.status == "done" and again.fetched == 0 and [c.path for c in fake.calls[before:]] == ["/api/v3/athlete"]
    finally:
        fake.stop()


def test_waiting_backfill_sleeps_through_resets(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    fake = StravaFake(clock=clock, read_limits=(40, 2000)).start()
    try:
        settings, engine = _sqlite(tmp_path, fake)
        ids = _populate(fake, 100)
        seed_connection(engine, settings, fake)
        waits: list[float] = []
        report = _run(engine, settings, clock, wait=True, waits=waits)
        assert report.status == "done" and report.fetched == 100
        # 36 per window (10% reserve of 40): 1 + 2 list + 100 streams = 103 requests, three windows, two waits.
        assert len(waits) == 2 and all(w % 900 == 0 for w in waits)
        assert 429 not in fake.statuses() and sorted(fake.stream_ids()) == ids
    finally:
        fake.stop()


def _file_copy(summary: dict[str, Any], shift_s: float = 0.0) -> Activity:
    """What a watch file of the same run looks like (different format, own streams)."""
    start = datetime.fromisoformat(summary["start_date"].replace("Z", "+00:00")) + timedelta(seconds=shift_s)
    t = np.arange(0, summary["elapsed_time"] + 1, 10.0)
    return Activity(start_utc=start, sport="running", format="fit", elapsed_s=float(summary["elapsed_time"]) + 2,
                    distance_m=summary["distance"] * 1.01, streams=Streams(time_s=t, hr_bpm=np.full(t.shape, 150.0)))


def test_archive_first_then_backfill_fetches_only_the_gap(engine: Engine, settings: Settings) -> None:
    clock = FakeClock(NOW)
    fake = StravaFake(clock=clock).start()
    try:
        settings = strava_settings(settings, fake)
        ids = _populate(fake, 40)
        seed_connection(engine, settings, fake)
        imported = ids[:15] + ids[25:]
        with engine.begin() as conn:
            athlete_id = get_or_create_athlete(conn, "me")
            for i, sid in enumerate(imported):
                # Some exports carry a whole-hour time-zone error; the store still matches them.
                act = _file_copy(fake.activities[sid], shift_s=3600.0 if i % 5 == 0 else 20.0)
                store_activity(conn, athlete_id, act, SourceRef(kind="file", ref=f"export/{sid}.fit", sha256=f"{sid:064d}", format="fit"))
        report = _run(engine, settings, clock, wait=False)
        assert report.status == "done"
        assert sorted(fake.stream_ids()) == ids[15:25]  # only the gap costs stream requests
        assert (report.listed, report.already_present, report.fetched) == (40, 30, 10)
        assert report.requests == 1 + 2 + 10  # usage check, one page + the empty one, the gap
        with engine.connect() as conn:
            rows = conn.execute(select(activities.c.strava_id, activities.c.format)).all()
            links = conn.execute(select(func.count()).select_from(activity_sources).where(activity_sources.c.kind == "strava")).scalar()
        assert len(rows) == 40 and sorted(r.strava_id for r in rows) == ids
        assert Counter(r.format for r in rows) == {"fit": 30, "strava": 10}  # linking never replaces the richer file
        assert links == 40
    finally:
        fake.stop()


def test_dry_run_plans_without_fetching(engine: Engine, settings: Settings) -> None:
    clock = FakeClock(NOW)
    fake = StravaFake(clock=clock, read_limits=(100, 1000)).start()
    try:
        settings = strava_settings(settings, fake)
        ids = _populate(fake, 450)
        seed_connection(engine, settings, fake)
        with engine.begin() as conn:
            athlete_id = get_or_create_athlete(conn, "me")
            for sid in ids[:50]:
                store_activity(conn, athlete_id, _file_copy(fake.activities[sid]), SourceRef(kind="file", ref=str(sid), sha256=f"{sid:064d}", format="fit"))
        report = _run(engine, settings, clock, wait=False, dry_run=True)
        assert report.status == "planned" and fake.stream_ids() == []
        assert report.plan is not None and report.plan["list_requests"] == 4 and report.plan["stream_requests"] == 400
        assert (report.listed, report.already_present) == (450, 50)
        # 90 per window and 900 per day at a 10% reserve: 400 - 85 left now = 315 more, 4 more windows.
        left_now = 90 - 5
        expected = (900 - clock() % 900) + (-(-(400 - left_now) // 90) - 1) * 900
        assert report.plan["seconds_at_current_limits"] == pytest.approx(expected)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(activities).where(activities.c.strava_id.is_not(None))).scalar() == 0
    finally:
        fake.stop()


def _cli(tmp_path: Path, cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "heavylegs", "--data-dir", str(tmp_path / "data"), "--db", f"sqlite:///{tmp_path / 'hl.db'}",
            "--config", str(cfg), *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}


@pytest.mark.slow
def test_cli_no_wait_exits_75_and_resumes(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    fake = StravaFake(clock=clock, read_limits=(100, 2000)).start()
    try:
        settings, engine = _sqlite(tmp_path, fake)
        ids = _populate(fake, 150)
        seed_connection(engine, settings, fake)
        cfg = config_toml(tmp_path / "cfg.toml", fake)
        first = subprocess.run(_cli(tmp_path, cfg, "backfill", "--source", "strava", "--no-wait", "--json"), capture_output=True, text=True, env=_env(), timeout=120)
        assert first.returncode == 75, first.stderr
        assert "Resume after" in first.stderr
        paused = json.loads(first.stdout)
        assert paused["status"] == "paused" and paused["fetched"] == 90 - 3 and paused["requests"] == 90
        clock.advance(900)  # Strava's window resets
        second = subprocess.run(_cli(tmp_path, cfg, "backfill", "--no-wait", "--json"), capture_output=True, text=True, env=_env(), timeout=120)
        assert second.returncode == 0, second.stderr
        done = json.loads(second.stdout)
        assert {k: done[k] for k in ("listed", "already_present", "fetched", "failed", "status")} == {
            "listed": 150, "already_present": 87, "fetched": 63, "failed": [], "status": "done"}
        assert 429 not in fake.statuses() and sorted(fake.stream_ids()) == ids
        plan = subprocess.run(_cli(tmp_path, cfg, "backfill", "--dry-run"), capture_output=True, text=True, env=_env(), timeout=120)
        assert plan.returncode == 0 and "0 streams to fetch" in plan.stdout and "150 already present" in plan.stdout
    finally:
        fake.stop()


@pytest.mark.slow
def test_kill_9_mid_backfill_then_rerun_completes(tmp_path: Path) -> None:
    fake = StravaFake(read_limits=(10_000, 100_000), overall_limits=(10_000, 100_000)).start()
    try:
        settings, engine = _sqlite(tmp_path, fake)
        ids = _populate(fake, 300)
        seed_connection(engine, settings, fake)
        cfg = config_toml(tmp_path / "cfg.toml", fake)
        proc = subprocess.Popen(_cli(tmp_path, cfg, "backfill", "--json"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        poll(lambda: len(fake.stream_ids()) >= 80 or proc.poll() is not None, 60, interval=0.01, what="80 streams fetched")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        with engine.connect() as conn:
            stored_before = {r[0] for r in conn.execute(select(activities.c.strava_id))}
        assert 50 <= len(stored_before) < 300
        seen = len(fake.calls)
        rerun = subprocess.run(_cli(tmp_path, cfg, "backfill", "--json"), capture_output=True, text=True, env=_env(), timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        refetched = {int(c.path.split("/")[-2]) for c in fake.calls[seen:] if c.path.endswith("/streams")}
        assert not refetched & stored_before  # nothing stored is fetched again
        assert refetched == set(ids) - stored_before
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(select(activities.c.strava_id))]
        assert sorted(rows) == ids  # complete, no duplicates
    finally:
        fake.stop()
