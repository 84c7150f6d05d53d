"""The folder source: what a scan reads, skips, waits for and records (real SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from heavylegs.service.envs import source_env
from heavylegs.settings import Settings
from heavylegs.sources.folder import FolderSource, scan_root, walk
from heavylegs.sources.store import add_source, get_source, remove_source
from heavylegs.store.tables import activities, activity_sources, source_files
from tests.helpers import FIXTURES, poll
from tests.service_support import day, gpx_run, write_runs

FENIX = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"
NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _scan(engine: Engine, settings: Settings, name: str = "watch", stop: threading.Event | None = None):
    source = get_source(engine, name)
    assert source is not None
    return FolderSource().sync(engine, source_env(settings.with_overrides({"service.folder_settle_s": 0.3, "import.workers": 1})), source, NOW, stop=stop)


def _count(engine: Engine, table, *where) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)


def _age(path: Path, seconds: float = 60) -> None:
    """Make a file look written a while ago, as files copied earlier are."""
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def folder(tmp_path: Path, engine: Engine) -> Path:
    watch = tmp_path / "watch"
    watch.mkdir()
    add_source(engine, "watch", "folder", "me", {"path": str(watch)})
    return watch


def test_new_files_imported_and_unchanged_files_never_read(engine: Engine, settings: Settings, folder: Path) -> None:
    paths = write_runs(folder / "2023", 3, day(0))
    shutil.copy(FENIX, folder / "FENIX.FIT")  # upper-case suffix still counts
    for p in [*paths, folder / "FENIX.FIT"]:
        _age(p)
    first = _scan(engine, settings)
    assert (first.new, first.failed, first.status) == (4, 0, "ok")
    source_id = get_source(engine, "watch").id
    assert _count(engine, activities, activities.c.parent_id.is_(None)) == 4
    assert _count(engine, activity_sources, activity_sources.c.source_id == source_id) == 4
    assert _count(engine, source_files, source_files.c.status == "imported") == 4

    # Same size and mtime, different bytes: if the scan read the file it would
    # import garbage or fail; an unread file leaves everything as it was.
    victim = paths[0]
    st = victim.stat()
    victim.write_bytes(b"x" * st.st_size)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = _scan(engine, settings)
    assert (second.new, second.duplicates, second.failed) == (0, 0, 0)
    assert "unchanged=4" in second.summary and "read=0" in second.summary


def test_hidden_and_macos_debris_and_other_suffixes_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "f"
    (root / ".hidden").mkdir(parents=True)
    (root / "__MACOSX").mkdir()
    (root / "sub").mkdir()
    for name in (".hidden/a.fit", "__MACOSX/b.fit", ".c.gpx", "notes.txt", "d.csv"):
        (root / name).write_text("x")
    for name in ("sub/e.GPX", "f.tcx", "g.fit.gz", "h.zip"):
        (root / name).write_text("x")
    found = sorted(Path(p).relative_to(root).as_posix() for p, _, _ in walk(root))
    assert found == ["f.tcx", "g.fit.gz", "h.zip", "sub/e.GPX"]


def test_mounted_watch_scans_only_garmin_activity(tmp_path: Path) -> None:
    (tmp_path / "GARMIN" / "Activity").mkdir(parents=True)
    (tmp_path / "GARMIN" / "Monitor").mkdir()
    assert scan_root(tmp_path) == tmp_path / "GARMIN" / "Activity"
    assert scan_root(tmp_path / "GARMIN" / "Monitor") == tmp_path / "GARMIN" / "Monitor"


def test_file_still_being_written_waits_for_next_scan(engine: Engine, settings: Settings, folder: Path) -> None:
    body = gpx_run(day(3)).encode()
    growing = folder / "growing.gpx"
    growing.write_bytes(body[: len(body) // 2])

    # The copy keeps going (a new mtime every 20 ms) for as long as the scan runs, so its two looks
    # always see the file change, however the scan is timed; the copy finishes once the scan is done.
    scanned = threading.Event()

    def copying() -> None:
        while not scanned.wait(0.02):
            growing.write_bytes(body[: len(body) // 2])

    writer = threading.Thread(target=copying)
    writer.start()
    try:
        first = _scan(engine, settings)
    finally:
        scanned.set()
        writer.join()
    growing.write_bytes(body)
    assert first.new == 0 and first.failed == 0
    assert "waiting=1" in first.summary
    with engine.connect() as conn:
        assert conn.execute(select(source_files.c.status).where(source_files.c.path == str(growing))).scalar() == "pending"
    _age(growing)
    second = _scan(engine, settings)
    assert second.new == 1 and second.failed == 0


def test_changed_file_is_read_again_and_user_files_untouched(engine: Engine, settings: Settings, folder: Path) -> None:
    [path] = write_runs(folder, 1, day(5))
    _age(path, 120)
    before = {p: p.read_bytes() for p in folder.iterdir()}
    assert _scan(engine, settings).new == 1
    path.write_text(gpx_run(day(6)))  # the user replaced it with another run
    _age(path, 60)
    again = _scan(engine, settings)
    assert again.new == 1
    assert _count(engine, activities) == 2
    assert sorted(folder.iterdir()) == sorted(before)  # nothing moved, added or deleted


def test_missing_folder_is_an_error_not_a_crash(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    add_source(engine, "usb", "folder", "me", {"path": str(tmp_path / "unplugged")})
    result = _scan(engine, settings, "usb")
    assert result.status == "error" and "not found" in (result.error or "")


def test_stop_finishes_the_file_in_hand(engine: Engine, settings: Settings, folder: Path) -> None:
    paths = write_runs(folder, 40, day(10), points=400)
    for p in paths:
        _age(p)

    def stop_after_first_file() -> None:
        try:
            poll(lambda: _count(engine, activities) > 0, 30, interval=0.005, what="the first file stored")
        finally:
            stop.set()

    stop = threading.Event()  # the service passes its own stop signal to each sync
    stopper = threading.Thread(target=stop_after_first_file)
    stopper.start()
    try:
        stopped = _scan(engine, settings, stop=stop)
    finally:
        stopper.join()
    stored = _count(engine, activities)
    assert 1 <= stored < 40 and "stopped" in stopped.summary
    assert stopped.new == stored  # the files committed before the stop are counted, none half-written
    resumed = _scan(engine, settings)
    assert resumed.new == 40 - stored
    assert _count(engine, activities) == 40


def test_disconnect_keeps_or_purges_only_this_sources_activities(engine: Engine, settings: Settings, folder: Path, tmp_path: Path) -> None:
    mine = write_runs(folder, 2, day(20))
    shared = folder / "shared.gpx"
    shared.write_text(gpx_run(day(30)))
    for p in [*mine, shared]:
        _age(p)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(shared, other / "copy.gpx")
    _age(other / "copy.gpx")
    add_source(engine, "other", "folder", "me", {"path": str(other)})
    assert _scan(engine, settings).new == 3
    assert _scan(engine, settings, "other").duplicates == 1
    removed = remove_source(engine, source_env(settings), "watch", purge=True)
    assert removed["purged_activities"] == 2  # the shared run also came from "other"
    assert _count(engine, activities) == 1
    assert get_source(engine, "watch") is None
    assert _count(engine, source_files) == 1  # only "other"'s file remains known
    kept = remove_source(engine, source_env(settings), "other")
    assert kept["purged_activities"] == 0 and _count(engine, activities) == 1


def test_deleted_files_are_forgotten(engine: Engine, settings: Settings, folder: Path) -> None:
    paths = write_runs(folder, 2, day(40))
    for p in paths:
        _age(p)
    _scan(engine, settings)
    paths[0].unlink()
    _scan(engine, settings)
    assert _count(engine, source_files) == 1
    assert _count(engine, activities) == 2  # the activity stays


def test_five_thousand_unchanged_files_need_no_reads(engine: Engine, settings: Settings, folder: Path) -> None:
    source_id = get_source(engine, "watch").id
    rows = []
    for i in range(5000):
        path = folder / f"d{i // 500}" / f"f{i}.fit"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"not a fit file")  # reading any of these would record a failure
        st = path.stat()
        rows.append({"source_id": source_id, "path": str(path), "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": None, "status": "imported", "ts": 0.0})
    with engine.begin() as conn:
        conn.execute(insert(source_files), rows)
    started = time.perf_counter()
    result = _scan(engine, settings)
    elapsed = time.perf_counter() - started
    assert (result.new, result.failed) == (0, 0)
    assert "unchanged=5000" in result.summary and "read=0" in result.summary
    print(f"5000 unchanged files scanned in {elapsed:.3f}s")


def test_the_name_inbox_is_reserved_at_connect_time(engine: Engine, tmp_path: Path) -> None:
    from heavylegs.sources.base import SourceError

    with pytest.raises(SourceError, match="reserved"):
        add_source(engine, "inbox", "folder", "me", {"path": str(tmp_path)})
    assert get_source(engine, "inbox") is None


def test_default_inbox_never_takes_over_a_users_source(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """A store from before the name was reserved: the user's "inbox" keeps its path; the service's own one moves."""
    from heavylegs.sources.inbox import ensure_inbox
    from heavylegs.sources.store import source_config

    watch = tmp_path / "watch"
    watch.mkdir()
    add_source(engine, "inbox", "folder", "me", {"path": str(watch)}, reserved_ok=True)  # as an older version allowed
    ensure_inbox(engine, tmp_path / "data-inbox", athlete=settings.default_athlete, data_dir=settings.data_dir)
    assert source_config(get_source(engine, "inbox"))["path"] == str(watch)  # never silently rewritten
    remove_source(engine, source_env(settings), "inbox")
    ensure_inbox(engine, tmp_path / "first", athlete=settings.default_athlete, data_dir=settings.data_dir)
    ensure_inbox(engine, tmp_path / "second", athlete=settings.default_athlete, data_dir=settings.data_dir)  # heavylegs run --inbox elsewhere: the service's own source follows
    assert source_config(get_source(engine, "inbox"))["path"] == str((tmp_path / "second").resolve())
