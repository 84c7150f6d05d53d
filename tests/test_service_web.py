"""The scheduler and the HTTP endpoint in-process: /healthz, /metrics, /, wake_sources, job_runs."""
from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from heavylegs.service.lock import AlreadyRunning, ServiceLock
from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import Settings
from heavylegs.sources.store import add_source
from heavylegs.store.db import make_engine
from heavylegs.store.tables import job_runs, sources
from tests.helpers import FIXTURES
from tests.service_support import poll

FENIX = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"


def _copy_aged(src: Path, dst: Path) -> None:
    shutil.copy(src, dst)
    t = time.time() - 60
    os.utime(dst, (t, t))


@pytest.fixture
def running(engine: Engine, settings: Settings, tmp_path: Path) -> Iterator[tuple[Scheduler, TestClient, Path]]:
    watch = tmp_path / "watch"
    watch.mkdir()
    add_source(engine, "watch", "folder", "me", {"path": str(watch)})
    cfg = settings.with_overrides({"service.folder_scan_interval_s": 3600, "service.folder_settle_s": 0.2, "import.workers": 1})
    metrics = PrometheusMetrics(engine)
    service = Scheduler(engine, cfg, observe=metrics.observe)
    service.on_new_data.append(metrics.count_new)
    service.start()
    # A loopback Host: the endpoint answers only allowed host names (DNS rebinding), not "testserver".
    client = TestClient(build_app(engine, cfg, service, metrics), base_url="http://127.0.0.1")
    try:
        yield service, client, watch
    finally:
        service.stop(20)


def _job_ran(client: TestClient, job: str) -> bool:
    body = client.get("/healthz").json()
    return (body["jobs"].get(job) or {}).get("runs", 0) >= 1


def test_healthz_reports_each_job_and_turns_503_when_the_scheduler_stops(running) -> None:
    service, client, _ = running
    poll(lambda: all(_job_ran(client, j) for j in ("scan:watch", "analysis", "deliver", "housekeeping")), 15, what="every job's first run")
    resp = client.get("/healthz")
    body = resp.json()
    assert resp.status_code == 200 and body["database"] is True and body["scheduler"] is True
    assert body["jobs"]["scan:watch"]["outcome"] == "ok"
    assert body["jobs"]["scan:watch"]["next_run"] > time.time() + 3000  # the configured hour, not "now"
    assert service.stop(20)
    down = client.get("/healthz")
    assert down.status_code == 503 and down.json()["scheduler"] is False


def test_wake_sources_scans_now_and_metrics_count_the_result(running, engine: Engine) -> None:
    service, client, watch = running
    poll(lambda: _job_ran(client, "scan:watch"), 15, what="the first scan")
    _copy_aged(FENIX, watch / "run.fit")
    # The next scheduled scan is an hour away: only the wake can bring the file in within seconds.
    assert client.app.state.wake_sources("folder") == 1
    # The row commits before the scan job returns and counts it, so wait for the whole job, not the row.
    ingested = 'heavylegs_activities_ingested_total{source="watch"} 1.0'
    poll(lambda: ingested in client.get("/metrics").text, 20, what="the woken scan to import and count the file")
    poll(lambda: re.search(r'job_runs_total\{job="scan:watch",outcome="ok"\} [2-9]', client.get("/metrics").text), 20, what="the scan's run record")
    text = client.get("/metrics").text
    assert "heavylegs_activities 1.0" in text
    assert "heavylegs_database_up 1.0" in text
    assert re.search(r'heavylegs_job_runs_total\{job="scan:watch",outcome="ok"\} [2-9]', text)
    assert "heavylegs_job_duration_seconds_count" in text
    assert "heavylegs_outbox_depth" in text
    with engine.connect() as conn:
        row = conn.execute(select(job_runs).where(job_runs.c.job == "scan:watch")).first()
        src = conn.execute(select(sources).where(sources.c.name == "watch")).first()
    assert row.runs >= 2 and row.last_outcome == "ok" and "new=" not in (row.last_error or "")
    assert src.last_new_ts is not None and src.last_success_ts >= src.last_new_ts - 1


def test_failing_source_is_recorded_and_counted(running, engine: Engine, tmp_path: Path) -> None:
    service, client, _ = running
    add_source(engine, "usb", "folder", "me", {"path": str(tmp_path / "unplugged")})
    service.reconcile()  # what the service's main loop does every few seconds
    poll(lambda: (client.get("/healthz").json()["jobs"].get("scan:usb") or {}).get("outcome") == "error", 15, what="the failing scan")

    def recorded() -> tuple:  # type: ignore[type-arg]
        with engine.connect() as conn:
            row = conn.execute(select(job_runs).where(job_runs.c.job == "scan:usb")).first()
            src = conn.execute(select(sources).where(sources.c.name == "usb")).first()
        return row, src

    # The job's outcome, its run row and the source's status are written one after another.
    poll(lambda: recorded()[0] is not None and recorded()[0].failures >= 1 and recorded()[1].status == "error", 15, what="the failure rows")
    row, src = recorded()
    assert row.failures >= 1 and "not found" in row.last_error
    assert src.status == "error" and "not found" in src.last_error
    assert 'heavylegs_job_failures_total{job="scan:usb"}' in client.get("/metrics").text
    assert client.get("/healthz").status_code == 200  # a failing source is reported, the service is healthy
    # ...but not its error text (a path here; SQL or hosts elsewhere): that is for `heavylegs sources`.
    health = client.get("/healthz")
    assert health.json()["jobs"]["scan:usb"]["error"] and str(tmp_path / "unplugged") not in health.text


def test_report_page_is_served(running) -> None:
    _, client, watch = running
    resp = client.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert "<html" in resp.text.lower() or "<!doctype" in resp.text.lower()


def test_one_lock_per_database(engine: Engine) -> None:
    first = ServiceLock(engine).acquire()
    other_engine = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        with pytest.raises(AlreadyRunning, match="another heavylegs instance"):
            ServiceLock(other_engine).acquire()
        first.release()
        ServiceLock(other_engine).acquire().release()  # released means free again
    finally:
        first.release()
        other_engine.dispose()


def test_strava_sources_get_a_sync_job_that_the_webhook_can_wake(running, engine: Engine) -> None:
    service, client, _ = running
    add_source(engine, "strava", "strava", "me", {})
    service.reconcile()
    poll(lambda: _job_ran(client, "sync:strava"), 15, what="the first Strava sync")
    runs_before = client.get("/healthz").json()["jobs"]["sync:strava"]["runs"]
    assert client.app.state.wake_sources("strava") == 1
    assert client.app.state.wake_sources("folder") == 1  # the other kind is not woken by a Strava event
    poll(lambda: client.get("/healthz").json()["jobs"]["sync:strava"]["runs"] > runs_before, 15, what="the woken Strava sync")
    with engine.connect() as conn:
        src = conn.execute(select(sources).where(sources.c.name == "strava")).first()
    # No client id is configured in tests: the kind says so, and the runner stores it on the source.
    assert src.status == "error" and src.last_error


def test_file_events_trigger_a_scan_when_watching(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    watch = tmp_path / "watched"
    watch.mkdir()
    add_source(engine, "watched", "folder", "me", {"path": str(watch)})
    cfg = settings.with_overrides(
        {"service.folder_scan_interval_s": 3600, "service.watch_files": True, "service.folder_settle_s": 0.2, "import.workers": 1}
    )
    service = Scheduler(engine, cfg)
    service.start()
    try:
        poll(lambda: (service.job_runner.stats.get("scan:watched") or None) is not None and service.job_runner.stats["scan:watched"].runs >= 1, 15, what="the first scan")
        # When the watcher is armed is not observable, so the file lands again (atomically, same bytes)
        # until an event brings a scan; the periodic scan is an hour away, so only an event can.
        staged = tmp_path / "new.fit"

        def scanned_after_drop() -> bool:
            if service.job_runner.stats["scan:watched"].runs >= 2:
                return True
            _copy_aged(FENIX, staged)
            os.replace(staged, watch / "new.fit")
            return False

        poll(scanned_after_drop, 15, interval=0.3, what="a scan caused by the file event")
        with engine.connect() as conn:
            assert conn.execute(select(job_runs.c.last_summary).where(job_runs.c.job == "scan:watched")).scalar() is not None
    finally:
        service.stop(20)
