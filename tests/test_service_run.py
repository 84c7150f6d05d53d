"""``heavylegs run`` as a real process: files in, analysis, alerts out over real SMTP and HTTP,
one instance per database, clean SIGTERM, nothing lost or doubled by ``kill -9``."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.store.tables import activities, activity_sources, source_files
from tests.helpers import FIXTURES, run_cli, run_process
from tests.receivers import SmtpReceiver, WebhookReceiver
from tests.service_support import ROOT, ServiceProc, cli_env, count_rows, day, http_get, poll, write_config, write_runs

pytestmark = pytest.mark.slow

RUNS_WITH_HR = [FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit", FIXTURES / "python-fitparse" / "2013-02-06-12-11-14.fit"]
OTHER_RULES = ("load_spike", "late_fade", "recurring_fade", "decoupling", "monotony", "comeback", "source_stalled")
FAST = {"folder_scan_interval_s": 1, "analysis_interval_s": 1, "deliver_interval_s": 1, "folder_settle_s": 0.2}


def _age_all(folder: Path) -> None:
    import os

    t = time.time() - 60
    for p in folder.rglob("*"):
        os.utime(p, (t, t))


def test_end_to_end_files_to_alerts_then_sigterm(tmp_path: Path, db_url: str) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver(secret="hook-secret") as hook:
        config = write_config(
            tmp_path / "test.toml",
            {
                "service": FAST,
                "import": {"workers": 1},
                # The fixture runs are from years ago: let their events count as recent,
                # and let one run day be a streak, so real files raise a real alert.
                "alerts": {"max_age_days": 100000},
                "alerts.rules.no_rest": {"run_streak": 1},
                **{f"alerts.rules.{rule}": {"enabled": False} for rule in OTHER_RULES},
                "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"},
            },
            {"alerts.channels": [
                {"name": "mail", "kind": "email", "to": "runner@example.org"},
                {"name": "hook", "kind": "webhook", "url": hook.url, "secret": "hook-secret"},
            ]},
        )
        data, watch = tmp_path / "data", tmp_path / "watch"
        watch.mkdir()
        base = ["--data-dir", str(data), "--db", db_url, "--config", str(config)]
        connected = run_cli(*base, "connect", "folder", str(watch))
        assert connected.returncode == 0, connected.stderr
        service = ServiceProc(data, db_url, config)
        try:
            service.wait_up()
            second = run_process(*base, "run", "--port", "0", timeout=60)
            assert second.returncode == 3, second.stderr
            assert "another heavylegs instance holds the lock" in second.stderr

            for src in RUNS_WITH_HR:
                shutil.copy(src, watch / src.name)
            poll(lambda: count_rows(db_url, activities) == 2, 30, what="both runs to be imported")
            poll(lambda: count_rows(db_url, activity_metrics) == 2 and count_rows(db_url, daily_metrics) > 0, 30, what="the analysis")
            assert smtp.wait_for(1, timeout=30), service.output()
            assert hook.wait_for(1, timeout=30), service.output()

            listed = json.loads(run_cli(*base, "activities", "--json").stdout)
            assert len(listed) == 2
            rules = {r.json["rule"] for r in hook.received}
            assert "no_rest" in rules and all(r.signature_ok for r in hook.received)
            assert any("rest" in str(m["Subject"]).lower() or "row" in m.get_body(("plain",)).get_content().lower() for m in smtp.messages)
            status, body = http_get(service.url + "/metrics")
            assert status == 200 and "heavylegs_activities 2.0" in body
            assert 'heavylegs_alert_deliveries{status="delivered"}' in body
            status, health = http_get(service.url + "/healthz")
            assert status == 200 and json.loads(health)["jobs"]["scan:watch"]["outcome"] == "ok"
            status, page = http_get(service.url + "/")
            assert status == 200 and "<" in page

            started = time.monotonic()
            assert service.stop(signal.SIGTERM) == 0, service.output()
            assert time.monotonic() - started < 30
            log = service.output()
            assert "scan folder=watch new=" in log and "stopped" in log
        finally:
            service.cleanup()


def _db_state(db_url: str) -> tuple[int, int, int, int]:
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            acts = conn.execute(select(func.count()).select_from(activities)).scalar()
            starts = conn.execute(select(func.count(func.distinct(activities.c.start_ts)))).scalar()
            links = conn.execute(select(func.count()).select_from(activity_sources)).scalar()
            # A file imported just before a crash is recognised as a duplicate of itself on the rescan.
            done = conn.execute(select(func.count()).select_from(source_files).where(source_files.c.status.in_(["imported", "duplicate"]))).scalar()
        return int(acts), int(starts), int(links), int(done)
    finally:
        eng.dispose()


def test_kill9_mid_scan_then_sigterm_mid_scan_loses_and_doubles_nothing(tmp_path: Path) -> None:
    n = 200
    db_url = f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}"
    inbox = tmp_path / "inbox"
    write_runs(inbox, n, day(0), points=300)
    _age_all(inbox)
    config = write_config(tmp_path / "test.toml", {"service": FAST | {"analysis_interval_s": 3600}, "import": {"workers": 1}})

    first = ServiceProc(tmp_path / "data", db_url, config, inbox=inbox)
    try:
        poll(lambda: count_rows(db_url, activities) >= 10, 60, interval=0.02, what="the scan to be under way")
        first.kill9()
    finally:
        first.cleanup()
    after_crash = count_rows(db_url, activities)
    assert 10 <= after_crash < n, "the kill came after the scan finished: the test needs slower files"

    second = ServiceProc(tmp_path / "data", db_url, config, inbox=inbox)
    try:
        poll(lambda: count_rows(db_url, activities) >= after_crash + 10, 60, interval=0.02, what="the rescan to import more")
        started = time.monotonic()
        assert second.stop(signal.SIGTERM) == 0, second.output()
        assert time.monotonic() - started < 30
    finally:
        second.cleanup()

    third = ServiceProc(tmp_path / "data", db_url, config, inbox=inbox)
    try:
        poll(lambda: _db_state(db_url)[3] == n, 90, what="every file to be recorded")
        acts, starts, links, done = _db_state(db_url)
        assert (acts, starts, links, done) == (n, n, n, n)  # every run once, each linked once
        assert third.stop(signal.SIGTERM) == 0
    finally:
        third.cleanup()


def test_service_and_cli_import_write_the_same_sqlite_database(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}"
    inbox, other = tmp_path / "inbox", tmp_path / "other"
    write_runs(inbox, 60, day(0), prefix="inbox", points=200)
    write_runs(other, 60, day(100), prefix="cli", points=200)
    _age_all(inbox)
    config = write_config(tmp_path / "test.toml", {"service": FAST, "import": {"workers": 1}})
    service = ServiceProc(tmp_path / "data", db_url, config, inbox=inbox)
    try:
        poll(lambda: count_rows(db_url, activities) >= 1, 30, interval=0.02, what="the service's scan to start")
        imported = subprocess.run(
            [sys.executable, "-m", "heavylegs", "--data-dir", str(tmp_path / "data"), "--db", db_url, "--config", str(config),
             "import", str(other), "--json", "--workers", "1"],
            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120,
        )
        assert imported.returncode == 0, imported.stderr
        assert json.loads(imported.stdout)["imported"] == 60
        poll(lambda: count_rows(db_url, activities) == 120, 60, what="both writers' runs")
        assert count_rows(db_url, source_files, source_files.c.status == "imported") == 60 or poll(
            lambda: count_rows(db_url, source_files, source_files.c.status == "imported") == 60, 30, what="the scan to record its files"
        )
        assert service.stop(signal.SIGTERM) == 0, service.output()
        assert "error" not in service.output().lower()
    finally:
        service.cleanup()
