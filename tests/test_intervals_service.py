"""``heavylegs run`` syncs an intervals.icu source every ``service.sync_interval_s`` (a real service process)."""
from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from heavylegs.cli import main
from heavylegs.store.tables import activities, sources
from tests.intervals_fake import IntervalsFake
from tests.service_support import ServiceProc, count_rows, poll, write_config
from tests.test_intervals_cli import ATHLETE, KEY, synth


def test_service_syncs_intervals_on_its_interval(tmp_path: Path) -> None:
    fake = IntervalsFake(min_interval_s=0.02).start()
    fake.add_key(KEY, ATHLETE)
    try:
        now = datetime.now(timezone.utc)
        fake.add(synth("i4001", now - timedelta(days=1)))
        fake.add(synth("i4009", now - timedelta(days=2), source="STRAVA"))
        db_url = f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}"
        config = write_config(tmp_path / "svc.toml", {
            "service": {"sync_interval_s": 1, "folder_scan_interval_s": 3600, "analysis_interval_s": 3600},
            "import": {"workers": 1},
            "intervals": {"api_url": fake.url, "max_requests_per_minute": 600},
        })
        (tmp_path / "key").write_text(KEY)
        base = ["--data-dir", str(tmp_path / "data"), "--db", db_url, "--config", str(config)]
        connected = CliRunner().invoke(main, [*base, "connect", "intervals", "--name", "icu", "--athlete-id", ATHLETE,
                                              "--key-file", str(tmp_path / "key")])
        assert connected.exit_code == 0, connected.output
        service = ServiceProc(tmp_path / "data", db_url, config, inbox=tmp_path / "inbox")
        try:
            service.wait_up()
            poll(lambda: count_rows(db_url, activities) == 1, 30, what="the first intervals.icu sync")
            fake.add(synth("i4002", now - timedelta(hours=5)))  # a run uploaded while the service runs
            poll(lambda: count_rows(db_url, activities) == 2, 30, what="a later sync to pick up the new run")
            assert sorted(fake.downloads()) == ["i4001", "i4002"]  # each downloaded once, the Strava copy never
            assert 429 not in fake.statuses()
            assert service.stop(signal.SIGTERM) == 0, service.output()
        finally:
            service.cleanup()
        assert count_rows(db_url, sources, sources.c.status == "ok") == 2  # the inbox and icu
        assert KEY not in service.output()
    finally:
        fake.stop()
