"""The folder source: a watch-export folder or a USB-mounted watch.

A scan costs one ``stat`` per unchanged file: each file's size and mtime are
remembered in ``source_files`` and only new or changed files are read. Files
still being written (their size or mtime moves between two looks) wait for
the next scan. The user's files are only ever read.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select

from heavylegs.importer import import_paths
from heavylegs.sources.base import (
    BackfillOptions,
    BackfillReport,
    Echo,
    NotSupported,
    SourceEnv,
    SourceError,
    SyncResult,
    never_stop,
)
from heavylegs.sources.store import add_source, source_config
from heavylegs.store.tables import activities, activity_sources, athletes, source_files
from ingest.files import display_name

SUFFIXES = (".fit", ".gpx", ".tcx", ".gz", ".zip")
SKIP_DIRS = {"__MACOSX"}
# Files handed to one import call: big enough for the importer's process pool
# to pay off on a first scan; a stop is noticed after every file anyway.
BATCH = 64

FileInfo = tuple[str, int, int]  # path, size_bytes, mtime_ns


class _Stopped(Exception):
    """Raised from the import progress callback: the file in hand is committed, the rest waits."""


def _new_since(engine: Engine, source_id: int, refs: Sequence[str], since: float) -> int:
    """Activities a stopped batch created before the stop (its report never came back)."""
    if not refs:
        return 0
    query = (
        select(func.count(func.distinct(activities.c.id)))
        .select_from(activities.join(activity_sources, activity_sources.c.activity_id == activities.c.id))
        .where(activity_sources.c.source_id == source_id, activity_sources.c.ref.in_(list(refs)), activities.c.created_ts >= since)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def scan_root(root: Path) -> Path:
    """A mounted Garmin watch keeps activities in GARMIN/Activity; the rest is monitoring data."""
    for garmin in ("GARMIN", "Garmin", "garmin"):
        for activity in ("Activity", "ACTIVITY", "activity"):
            candidate = root / garmin / activity
            if candidate.is_dir():
                return candidate
    return root


def walk(root: Path) -> Iterator[FileInfo]:
    """Activity-looking files under ``root``, skipping hidden entries and macOS zip debris."""
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name in SKIP_DIRS:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    if not name.lower().endswith(SUFFIXES) or not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    continue
                yield entry.path, st.st_size, st.st_mtime_ns


def _restat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def split_stable(candidates: Sequence[FileInfo], settle_s: float) -> tuple[list[FileInfo], list[FileInfo]]:
    """Split into (stable, still being written) by looking twice at recently modified files."""
    wall = time.time()
    young = [c for c in candidates if abs(wall - c[2] / 1e9) < settle_s]
    if not young:
        return list(candidates), []
    newest = max(c[2] / 1e9 for c in young)
    time.sleep(min(settle_s, max(0.2, settle_s - (wall - newest))))
    moving: set[str] = set()
    for path, size, mtime in young:
        if _restat(path) != (size, mtime):
            moving.add(path)
    stable = [c for c in candidates if c[0] not in moving]
    pending = [c for c in candidates if c[0] in moving]
    return stable, pending


def _aggregate(outcomes: Iterable[Any], batch: Sequence[FileInfo]) -> dict[str, tuple[str, str | None]]:
    """Per file of the batch: its overall status and sha256 (an archive has many outcomes)."""
    rank = {"imported": 4, "upgraded": 3, "duplicate": 2, "skipped": 1, "failed": 0}
    wanted = {c[0] for c in batch}
    by_real = {os.path.realpath(p): p for p in wanted} | {display_name(p): p for p in wanted}  # reports name a non-UTF-8 path by its display form
    result: dict[str, tuple[str, str | None]] = {}
    for outcome in outcomes:
        outer = str(outcome.path).split("!", 1)[0]
        path = outer if outer in wanted else by_real.get(os.path.realpath(outer))
        if path is None:
            continue
        status = str(outcome.status)
        old = result.get(path)
        if old is None or rank.get(status, 0) > rank.get(old[0], 0):
            result[path] = (status, getattr(outcome, "sha256", None) or (old[1] if old else None))
    return result


def _remember(engine: Engine, source_id: int, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    rows = [r | {"path": display_name(r["path"])} for r in rows]  # a non-UTF-8 name would fail in the driver
    with engine.begin() as conn:
        paths = [r["path"] for r in rows]
        for i in range(0, len(paths), 500):
            conn.execute(delete(source_files).where(source_files.c.source_id == source_id, source_files.c.path.in_(paths[i : i + 500])))
        conn.execute(insert(source_files), [r | {"source_id": source_id, "ts": time.time()} for r in rows])


def _forget(engine: Engine, source_id: int, paths: Sequence[str]) -> None:
    if not paths:
        return
    with engine.begin() as conn:
        for i in range(0, len(paths), 500):
            conn.execute(delete(source_files).where(source_files.c.source_id == source_id, source_files.c.path.in_(paths[i : i + 500])))


class FolderSource:
    kind = "folder"

    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        folder = Path(str(options["path"])).expanduser()
        if not folder.is_dir():
            raise SourceError(f"folder not found: {folder}")
        folder = folder.resolve()
        add_source(engine, name, "folder", athlete, {"path": str(folder)})
        return f"connected folder {folder} as {name!r} for athlete {athlete!r}; `heavylegs run` scans it"

    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, **_: Any) -> BackfillReport:
        raise NotSupported(f"{source.name!r} is a folder: it has no history to backfill; `heavylegs sync {source.name}` reads it")

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        return {}

    def sync(self, engine: Engine, env: SourceEnv, source: Row[Any], now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        stopping = stop if stop is not None else never_stop()

        root = Path(str(source_config(source).get("path", "")))
        if not root.is_dir():
            return SyncResult(status="error", error=f"folder not found: {root} (unplugged or moved?)")
        with engine.connect() as conn:
            athlete = conn.execute(select(athletes.c.name).where(athletes.c.id == source.athlete_id)).scalar_one()
            seen = {r.path: r for r in conn.execute(select(source_files).where(source_files.c.source_id == source.id))}
        files = list(walk(scan_root(root)))
        present = {display_name(f[0]) for f in files}
        _forget(engine, int(source.id), [p for p in seen if p not in present])
        changed = [
            f for f in files
            if (row := seen.get(display_name(f[0]))) is None or row.size_bytes != f[1] or row.mtime_ns != f[2] or row.status == "pending"
        ]
        stable, pending = split_stable(changed, float(env.folder_settle_s))
        _remember(engine, int(source.id), [{"path": p, "size_bytes": s, "mtime_ns": m, "sha256": None, "status": "pending"} for p, s, m in pending])
        result = SyncResult()
        done = 0
        stopped = stopping.is_set()
        for start in range(0, len(stable), BATCH):
            if stopping.is_set():
                break
            batch = stable[start : start + BATCH]
            handled: list[str] = []

            def check_stop(_done: int, _total: int | None, path: str) -> None:
                handled.append(path)  # noqa: B023  (called only by this iteration's import_paths)
                if stopping.is_set():
                    raise _Stopped()

            began = time.time()
            try:
                report = import_paths(engine, env.imports, [p for p, _, _ in batch], athlete=athlete, source_id=int(source.id), progress=check_stop)
            except _Stopped:
                # Files committed so far are recognised by their sha256 on the next scan.
                result.new += _new_since(engine, int(source.id), handled, began - 1.0)
                done += len(handled)
                stopped = True
                break
            per_file = _aggregate(report.outcomes, batch)
            for outcome in report.outcomes:
                status = str(outcome.status)
                if status == "imported":
                    result.new += 1
                elif status in ("duplicate", "upgraded"):
                    result.duplicates += 1
                elif status == "failed":
                    result.failed += 1
            _remember(
                engine,
                int(source.id),
                [
                    {"path": p, "size_bytes": s, "mtime_ns": m, "sha256": per_file.get(p, ("", None))[1], "status": per_file.get(p, ("failed", None))[0]}
                    for p, s, m in batch
                ],
            )
            done += len(batch)
        unchanged = len(files) - len(changed)
        result.summary = f"files={len(files)} unchanged={unchanged} read={done} waiting={len(pending) + len(stable) - done}"
        if stopped:
            result.summary += " (stopped: the rest waits for the next start)"
        return result

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Row[Any], purge: bool) -> None:
        return None  # nothing outside the database to undo: the folder is the user's

