"""Turn the paths a user names into activity-file items.

Folders are walked recursively (a watch mounted over USB, a folder of app
exports, an unzipped Strava export), zip archives are read in place without
extracting anything to disk. Items inside archives are named
``archive.zip!inner/path``. Hostile or broken inputs become items that carry
their error, so one bad file never stops the batch. Only regular files are
read (a FIFO or a link to a device is skipped with the reason), and a name
that is not UTF-8 is shown and stored in its ``display_name`` form.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.archive import iter_zip
from ingest.compression import gunzip_bounded
from ingest.errors import DecodeError, IngestError
from ingest.files import display_name, kind_of, not_regular_reason, read_regular
from ingest.item import APPLEDOUBLE_REASON, Item, classify, is_appledouble
from ingest.limits import Limits
from ingest.strava_csv import read_hints


def load_bytes(item: Item, limits: Limits) -> bytes:
    """The item's decompressed bytes, within the configured limits."""
    if item.payload is not None:
        data = item.payload
    elif item.load is not None:
        data = item.load()
    else:
        assert item.fs_path is not None
        data = read_regular(item.fs_path, limits.max_file_bytes)
    if item.gz or data[:2] == b"\x1f\x8b":
        data = gunzip_bounded(data, limits.max_file_bytes, limits.max_compression_ratio)
    if not data:
        raise DecodeError("empty file")
    return data


def _look(path: Path) -> tuple[str | None, int | None]:
    """(why ``path`` is not read: a FIFO, a device..., its size): (None, None) when it cannot
    be looked at (reading it then reports the error)."""
    try:
        st = path.stat()  # follows links: a link to /dev/zero is a device
    except OSError:
        return None, None
    return kind_of(st.st_mode), st.st_size


def _file_item(path: Path, hint: dict[str, Any], explicit: bool) -> Item | None:
    name = path.name
    fmt, gz, is_zip = classify(name)
    shown = display_name(path)
    if is_appledouble(name):
        return Item(shown, fmt, gz, fs_path=path, skip=APPLEDOUBLE_REASON) if (fmt or is_zip or explicit) else None
    if fmt is None and not explicit:
        return None
    kind, size = _look(path)
    if kind is not None:
        return Item(shown, fmt, gz, skip=not_regular_reason(kind))
    return Item(shown, fmt, gz, fs_path=path, hints=hint, size=size)


def _zip_items(path: Path, limits: Limits) -> Iterator[Item]:
    kind, _ = _look(path)
    if kind is not None:
        yield Item(display_name(path), skip=not_regular_reason(kind))
        return
    yield from iter_zip(display_name(path), path, limits)


def _read_csv_hints(path: Path, limits: Limits) -> dict[str, dict[str, Any]]:
    try:
        return read_hints(read_regular(path, limits.max_file_bytes))
    except IngestError:
        return {}


def _walk_dir(root: Path, limits: Limits) -> Iterator[Item]:
    # An unzipped Strava export: activities.csv names files relative to its folder.
    csv_dirs: dict[Path, dict[str, dict[str, Any]]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__MACOSX" and not d.startswith("."))
        here = Path(dirpath)
        if "activities.csv" in filenames:
            csv_dirs[here] = _read_csv_hints(here / "activities.csv", limits)
        for name in sorted(filenames):
            path = here / name
            if classify(name)[2] and not is_appledouble(name):
                yield from _zip_items(path, limits)
                continue
            hint: dict[str, Any] = {}
            for base, hints in csv_dirs.items():
                if base in path.parents:
                    hint = hints.get(path.relative_to(base).as_posix().lower(), {})
            item = _file_item(path, hint, explicit=False)
            if item is not None:
                yield item


def _export_hint(path: Path, cache: dict[Path, dict[str, dict[str, Any]]], limits: Limits) -> dict[str, Any]:
    """A file named on its own (a watched folder hands files over one by one) still gets
    its Strava export's name and type: ``activities.csv`` sits one or two levels up."""
    for base in list(path.parents)[:2]:
        if base not in cache:
            csv_path = base / "activities.csv"
            cache[base] = _read_csv_hints(csv_path, limits) if csv_path.exists() else {}
        hint = cache[base].get(path.relative_to(base).as_posix().lower())
        if hint:
            return hint
    return {}


def iter_items(paths: list[str | Path], limits: Limits) -> Iterator[Item]:
    """Every activity-file item under ``paths``, in a stable order."""
    csv_cache: dict[Path, dict[str, dict[str, Any]]] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            yield from _walk_dir(path, limits)
        elif path.exists():
            if classify(path.name)[2]:
                yield from _zip_items(path, limits)
            else:
                item = _file_item(path, _export_hint(path, csv_cache, limits), explicit=True)
                if item is not None:
                    yield item
        else:
            yield Item(display_name(path), error=DecodeError("no such file or directory"))
