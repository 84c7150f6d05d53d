"""``heavylegs run`` syncs a Garmin source every ``service.sync_interval_s`` (a real service process)."""
from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from heavylegs.cli import main
from heavylegs.store.tables import activities, sources
from tests.garmin_fake import GarminFake
from tests.service_support import ServiceProc, count_rows, poll, write_config
from tests.test_garmin_cli import KEY, synth


def test_service_syncs_garmin_on_its_interval(tmp_path: Path) -> None:
    fake = GarminFake(min_interval_s=0.05).start()
    fake.add_key(KEY)
    try:
        now = datetime.now(timezone.utc)
        fake.add(synth(4001, now - timedelta(days=1)))
        db_url = f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}"
        config = write_config(tmp_path / "svc.toml", {
            "service": {"sync_interval_s": 1, "folder_scan_interval_s": 3600, "analysis_interval_s": 3600},
            "import": {"workers": 1},
            "garmin": {"api_url": fake.url, "max_requests_per_minute": 600},
        })
        (tmp_path / "key").write_text(KEY)
        base = ["--data-dir", str(tmp_path / "data"), "--db", db_url, "--config", str(config)]
        connected = CliRunner().invoke(main, [*base, "connect", "garmin", "--name", "garmin", "--key-file", str(tmp_path / "key")])
        assert connected.exit_code == 0, connected.output
        service = ServiceProc(tmp_path / "data", db_url, config, inbox=tmp_path / "inbox")
        try:
            service.wait_up()
            poll(lambda: count_rows(db_url, activities) == 1, 30, what="the first Garmin sync")
            fake.add(synth(4002, now - timedelta(hours=5)))  # a run recorded while the service runs
            poll(lambda: count_rows(db_url, activities) == 2, 30, what="a later sync to pick up the new run")
            assert sorted(fake.downloads()) == [4001, 4002]  # each downloaded once however many syncs ran
            assert 429 not in fake.statuses()
            assert service.stop(signal.SIGTERM) == 0, service.output()
        finally:
            service.cleanup()
        assert count_rows(db_url, sources, sources.c.status == "ok") == 2  # the inbox and garmin
        assert KEY not in service.output()
    finally:
        fake.stop()
