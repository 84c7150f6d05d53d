"""``connect folder``, ``sources --json`` and ``disconnect`` through the real CLI."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from heavylegs.service.jobs import sync_source
from heavylegs.settings import load_settings
from heavylegs.sources.store import get_source
from heavylegs.store.db import make_engine
from heavylegs.store.tables import activities
from tests.helpers import run_cli
from tests.service_support import count_rows, day, write_runs


def test_connect_list_scan_and_disconnect(tmp_path: Path) -> None:
    data, db_url = tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}"
    base = ["--data-dir", str(data), "--db", db_url]
    missing = run_cli(*base, "connect", "folder", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "folder not found" in missing.stderr

    watch = tmp_path / "Watch Exports"
    for p in write_runs(watch, 2, day(0)):
        os.utime(p, (time.time() - 60,) * 2)
    ok = run_cli(*base, "connect", "folder", str(watch), "--athlete", "alice")
    assert ok.returncode == 0, ok.stderr
    again = run_cli(*base, "connect", "folder", str(watch))
    assert again.returncode == 2 and "already exists" in again.stderr

    listed = json.loads(run_cli(*base, "sources", "--json").stdout)
    assert [(s["name"], s["kind"], s["athlete"], s["status"], s["activities"], s["last_success"]) for s in listed] == [
        ("Watch Exports", "folder", "alice", "ok", 0, None)
    ]

    # What one scheduled run of the service does for this source.
    settings = load_settings(data_dir=data, db=db_url, environ={}).with_overrides({"import.workers": 1})
    engine = make_engine(db_url)
    try:
        outcome = sync_source(engine, settings, int(get_source(engine, "Watch Exports").id))
    finally:
        engine.dispose()
    assert outcome.counts["new"] == 2 and outcome.error is None
    [row] = json.loads(run_cli(*base, "sources", "--json").stdout)
    assert row["activities"] == 2 and row["status"] == "ok"
    assert datetime.fromisoformat(row["last_success"]) <= datetime.now(timezone.utc)
    assert datetime.fromisoformat(row["next_run"]) > datetime.fromisoformat(row["last_success"])

    table = run_cli(*base, "sources")
    assert table.returncode == 0 and "Watch Exports" in table.stdout

    unknown = run_cli(*base, "disconnect", "nosuch")
    assert unknown.returncode == 2 and "no source named" in unknown.stderr
    gone = run_cli(*base, "disconnect", "Watch Exports", "--purge")
    assert gone.returncode == 0 and "deleted 2 activities" in gone.stdout
    assert count_rows(db_url, activities) == 0
    assert json.loads(run_cli(*base, "sources", "--json").stdout) == []
    assert sorted(p.name for p in watch.iterdir()) == ["run-0000.gpx", "run-0001.gpx"]  # the user's files stay
