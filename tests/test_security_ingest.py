"""Issue 13, findings 4, 8 and 9: hostile file names and special files never stall an
import, and a crafted archive cannot make the importer hold a file per core.

Each test makes the attack real on disk (a file name that is not UTF-8, a FIFO,
a symlink to /dev/zero) and runs the real CLI or the real folder source on
SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from heavylegs.import_report import ImportReport
from heavylegs.importer import import_paths
from heavylegs.service.envs import import_env, source_env
from heavylegs.settings import Settings, load_settings
from heavylegs.sources.folder import FolderSource
from heavylegs.sources.store import add_source, get_source
from heavylegs.store.db import make_engine, migrate
from heavylegs.store.tables import activity_sources, source_files
from ingest.errors import NotAnActivity
from ingest.files import display_name
from ingest.item import Item
from ingest.limits import Limits
from ingest.walk import iter_items, load_bytes
from tests import hostile
from tests.fat_zip import fat_zip
from tests.helpers import run_cli, run_process
from tests.synth import day, gpx_run

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="bytes file names, FIFOs and /dev/zero are Linux")

BAD_NAME = b"run-\xff.gpx"  # Latin-1 "ÿ": not UTF-8, so Python sees a surrogate escape
SHOWN = "run-\\xff.gpx"


def _bytes_path(folder: Path, name: bytes) -> Path:
    """A real file named ``name`` (raw bytes) under ``folder``, as Python sees it."""
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {"HEAVYLEGS_DATA_DIR": str(tmp_path / "data"), "HEAVYLEGS_DB": db_url}


def _runs_with_a_bad_name(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bad = _bytes_path(folder, BAD_NAME)
    bad.write_bytes(gpx_run(day(0), duration_s=900, step_s=5))
    good = folder / "run-z.gpx"  # sorts after the bad one: the batch must reach it
    good.write_bytes(gpx_run(day(1), duration_s=900, step_s=5))
    return bad, good


def test_display_name_is_utf8_and_keeps_valid_names() -> None:
    assert display_name("/tmp/Läufe/run.gpx") == "/tmp/Läufe/run.gpx"
    shown = display_name(os.fsdecode(b"/tmp/run-\xff\xfe.gpx"))
    assert shown == "/tmp/run-\\xff\\xfe.gpx" and shown.encode("utf-8")
    assert display_name("x\ud800y") == "x\\ud800y"  # a lone surrogate that no file system produced


def test_cli_imports_a_non_utf8_file_name_and_the_next_file(tmp_path: Path, db_url: str) -> None:
    src = tmp_path / "runs"
    _runs_with_a_bad_name(src)
    broken = _bytes_path(src, b"broken-\xe9.fit")
    broken.write_bytes(b"\x0e\x10\x00\x00garbage.FIT" + b"\x00" * 20)
    res = run_process("import", str(src), "--json", env=_env(tmp_path, db_url), timeout=120)
    assert res.returncode == 2, res.stderr  # 2: one file failed (the broken one), not a crash
    out = json.loads(res.stdout)
    assert out["imported"] == 2
    assert [f["path"] for f in out["failed"]] == [f"{src}/broken-\\xe9.fit"] and out["failed"][0]["reason"]
    listing = json.loads(run_cli("activities", "--json", env=_env(tmp_path, db_url)).stdout)
    refs = sorted(s["ref"] for a in listing for s in a["sources"])
    assert refs == [f"{src}/{SHOWN}", f"{src}/run-z.gpx"]
    # The human output prints the same name, and a second import recognises both files.
    again = run_cli("import", str(src), env=_env(tmp_path, db_url))
    assert again.returncode == 2 and "imported 0, duplicates 2" in again.stdout, again.stdout + again.stderr
    assert "broken-\\xe9.fit: not a FIT file" in again.stderr  # failures go to stderr


def test_folder_source_scans_a_non_utf8_name(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    watch = tmp_path / "watch"
    bad, good = _runs_with_a_bad_name(watch)
    for p in (bad, good):
        os.utime(p, (datetime.now().timestamp() - 60,) * 2)  # written a while ago: no settle wait
    add_source(engine, "watch", "folder", "me", {"path": str(watch)})
    fast = settings.with_overrides({"service.folder_settle_s": 0.3, "import.workers": 1})
    first = FolderSource().sync(engine, source_env(fast), get_source(engine, "watch"), datetime.now(timezone.utc))
    assert (first.status, first.new, first.failed) == ("ok", 2, 0)
    with engine.connect() as conn:
        seen = dict(conn.execute(select(source_files.c.path, source_files.c.status)).all())
        refs = set(conn.execute(select(activity_sources.c.ref)).scalars())
    assert seen == {f"{watch}/{SHOWN}": "imported", str(good): "imported"}
    assert refs == {f"{watch}/{SHOWN}", str(good)}
    second = FolderSource().sync(engine, source_env(fast), get_source(engine, "watch"), datetime.now(timezone.utc))
    assert second.status == "ok" and "unchanged=2" in second.summary and "read=0" in second.summary


def _special_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {"fifo": folder / "fifo.gpx", "zero": folder / "zero.fit", "zipfifo": folder / "pipe.zip"}
    os.mkfifo(made["fifo"])
    os.mkfifo(made["zipfifo"])
    made["zero"].symlink_to("/dev/zero")
    os.mkfifo(folder / "activities.csv")  # a Strava export's hint file, read for every folder
    made["good"] = folder / "z-run.gpx"
    made["good"].write_bytes(gpx_run(day(3), duration_s=900, step_s=5))
    return made


def test_cli_skips_fifos_and_device_links_and_goes_on(tmp_path: Path, db_url: str) -> None:
    made = _special_files(tmp_path / "runs")
    # Without the fix the FIFO blocks forever: the subprocess timeout turns that into a failure.
    res = run_process("import", str(tmp_path / "runs"), "--json", env=_env(tmp_path, db_url), timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["imported"] == 1 and out["failed"] == []
    skipped = {s["path"]: s["reason"] for s in out["skipped"]}
    assert skipped == {
        str(made["fifo"]): "a FIFO (named pipe), not a regular file: only regular files are imported",
        str(made["zipfifo"]): "a FIFO (named pipe), not a regular file: only regular files are imported",
        str(made["zero"]): "a character device, not a regular file: only regular files are imported",
    }
    # Named one by one (as a shell glob does) they are skipped the same way.
    res = run_process("import", str(made["fifo"]), str(made["zero"]), str(made["good"]), "--json", env=_env(tmp_path, db_url), timeout=60)
    out = json.loads(res.stdout)
    assert res.returncode == 0 and out["duplicates"] == 1 and len(out["skipped"]) == 2


def test_a_file_swapped_for_a_fifo_after_the_walk_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "late.fit"
    os.mkfifo(fifo)
    with pytest.raises(NotAnActivity, match="FIFO"):
        load_bytes(Item(str(fifo), "fit", fs_path=fifo), Limits())
    zero = tmp_path / "late.gpx"
    zero.symlink_to("/dev/zero")
    with pytest.raises(NotAnActivity, match="character device"):
        load_bytes(Item(str(zero), "gpx", fs_path=zero), Limits())
    # A symlink to a regular file is still an ordinary file to import.
    real = tmp_path / "real.gpx"
    real.write_bytes(gpx_run(day(0), duration_s=60))
    link = tmp_path / "link.gpx"
    link.symlink_to(real)
    items = list(iter_items([link], Limits()))
    assert [i.skip for i in items] == [None] and load_bytes(items[0], Limits()) == real.read_bytes()


def test_folder_source_ignores_special_files(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    made = _special_files(tmp_path / "watch")
    os.utime(made["good"], (datetime.now().timestamp() - 60,) * 2)
    add_source(engine, "watch", "folder", "me", {"path": str(tmp_path / "watch")})
    fast = settings.with_overrides({"service.folder_settle_s": 0.3, "import.workers": 1})
    result = FolderSource().sync(engine, source_env(fast), get_source(engine, "watch"), datetime.now(timezone.utc))
    assert (result.status, result.new, result.failed) == ("ok", 1, 0)
    with engine.connect() as conn:
        assert set(conn.execute(select(source_files.c.path)).scalars()) == {str(made["good"])}


# -- Finding 9: the decode window is bounded by bytes, not by a count per core ------------

MiB = 1 << 20
MEMBER = 4 * MiB - 4096  # scaled down from the attack's 99 MiB members under a 100 MiB limit


def _import_fat_zip(tmp_path: Path, window_bytes: int) -> ImportReport:
    archive = fat_zip(tmp_path / "export.zip", 8, MEMBER)
    settings = load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'w.db'}", environ={})
    settings = settings.with_overrides({"import.max_file_bytes": 4 * MiB, "import.window_bytes": window_bytes})
    engine = make_engine(settings.db_url)
    migrate(engine)
    try:
        return import_paths(engine, import_env(settings), [archive], athlete="me", workers=4)
    finally:
        engine.dispose()


@pytest.mark.parametrize("window_mib", [6, 40])
def test_decode_window_holds_bytes_not_files_per_core(tmp_path: Path, window_mib: int) -> None:
    report = _import_fat_zip(tmp_path, window_bytes=window_mib * MiB)
    # Every member was read and reported (they are not FIT files), the batch went on.
    assert sorted(o.path for o in report.outcomes) == [f"{tmp_path}/export.zip!export/activity-{i}.fit" for i in range(8)]
    assert {o.status for o in report.outcomes} == {"failed"}
    # What the importer and its workers held never passed the window, 4 workers or not.
    assert MEMBER <= report.window_peak_bytes <= window_mib * MiB
    if window_mib == 6:  # no room for a second 4 MiB member: one at a time, decoded here
        assert report.window_peak_bytes == MEMBER


def test_a_wide_window_holds_what_the_count_allows(tmp_path: Path) -> None:
    """The control: with room for them, 4 workers hold all 8 members at once (3 per worker
    allowed), which is what the 99 MiB attack turned into 1.1 GB."""
    report = _import_fat_zip(tmp_path, window_bytes=1024 * MiB)
    assert report.window_peak_bytes >= 8 * MEMBER


def test_archive_members_are_read_when_asked_even_after_the_walk_moved_on(tmp_path: Path) -> None:
    """Members are inflated only when the importer asks (after making room); a caller that
    collects every item first still gets each member's bytes, from the archive opened again."""
    runs = {f"run{i}.gpx": gpx_run(day(i), duration_s=60) for i in range(3)}
    inner = hostile.zip_bytes({"inner.gpx": runs["run2.gpx"]})
    archive = hostile.write(tmp_path / "export.zip", hostile.zip_bytes({"run0.gpx": runs["run0.gpx"], "run1.gpx": runs["run1.gpx"], "nested.zip": inner}))
    items = list(iter_items([archive], Limits()))  # every archive is closed by now
    got = {i.display.split("!", 1)[1]: load_bytes(i, Limits()) for i in items}
    assert got == {"run0.gpx": runs["run0.gpx"], "run1.gpx": runs["run1.gpx"], "nested.zip!inner.gpx": runs["run2.gpx"]}
    assert all(i.payload is None and i.inflates for i in items)
