"""Sources as plug-ins: one registry, one interface, and the commands that work for every kind."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from heavylegs.cli import main
from heavylegs.sources.base import SourceError
from heavylegs.sources.registry import KINDS, RESERVED_NAMES, check_name, get_kind
from tests.helpers import FIXTURES

FENIX = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"


def test_every_registered_kind_implements_the_interface() -> None:
    assert set(KINDS) >= {"folder", "strava", "garmin", "polar", "intervals"}
    for name in KINDS:
        kind = get_kind(name)
        assert kind.kind == name
        for method in ("connect", "sync", "backfill", "on_disconnect", "status"):
            assert callable(getattr(kind, method)), (name, method)
    with pytest.raises(SourceError, match="unknown source kind"):
        get_kind("suunto")


def test_reserved_names_are_refused_whatever_the_case() -> None:
    assert "inbox" in RESERVED_NAMES
    for name in ("inbox", "Inbox", " INBOX "):
        with pytest.raises(SourceError, match="reserved"):
            check_name(name)
    check_name("inbox-2")  # only the exact name is reserved


def _cli(tmp_path: Path, *args: str) -> object:
    base = ["--data-dir", str(tmp_path / "data"), "--db", f"sqlite:///{tmp_path / 'hl.db'}"]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


def test_sync_and_backfill_commands_for_a_folder(tmp_path: Path) -> None:
    watch = tmp_path / "watch"
    watch.mkdir()
    shutil.copy(FENIX, watch / "run.fit")
    old = time.time() - 60
    os.utime(watch / "run.fit", (old, old))  # settled: written a while ago
    assert _cli(tmp_path, "connect", "folder", str(watch), "--name", "usb").exit_code == 0
    first = _cli(tmp_path, "sync", "usb", "--json")
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert (body["name"], body["kind"], body["new"], body["status"]) == ("usb", "folder", 1, "ok")
    every = _cli(tmp_path, "sync", "--json")
    assert [r["new"] for r in json.loads(every.stdout)] == [0]
    refused = _cli(tmp_path, "backfill", "--source", "usb")
    assert refused.exit_code == 1 and "no history to backfill" in refused.stderr
    missing = _cli(tmp_path, "sync", "nope")
    assert missing.exit_code == 1 and "no source named 'nope'" in missing.stderr
    [row] = json.loads(_cli(tmp_path, "sources", "--json").stdout)
    assert row["activities"] == 1 and row["last_success"] is not None and "key_expires" not in row
