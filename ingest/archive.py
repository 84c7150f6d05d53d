"""Zip archives (Strava and Garmin bulk exports, zipped single files), read in place.

Nothing is extracted to disk, and members are inflated under limits: a zip
bomb, a zip-slip path or an over-deep nest becomes a failed item with the
reason, and the rest of the archive still imports.
"""
from __future__ import annotations

import contextlib
import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ingest.errors import DecodeError, HostileInput, NotAnActivity
from ingest.files import open_regular
from ingest.item import Item, classify, is_appledouble
from ingest.limits import Limits
from ingest.strava_csv import read_hints


def unsafe_member(name: str) -> bool:
    """Absolute paths, drive letters and '..' components would escape an extraction folder."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return True
    return ".." in norm.split("/") or posixpath.normpath(norm).startswith("..")


def _check_member(info: zipfile.ZipInfo, limits: Limits) -> None:
    """Refusals decided from the member's header, before inflating anything."""
    if info.flag_bits & 0x1:
        raise DecodeError("member is encrypted")
    if info.file_size > limits.max_file_bytes:
        raise HostileInput(f"member inflates to {info.file_size} bytes, over the {limits.max_file_bytes}-byte limit")
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_compression_ratio and info.file_size > 1 << 20:
        raise HostileInput(f"compression ratio {ratio:.0f}:1 is over the limit of {limits.max_compression_ratio:.0f}:1 (zip bomb?)")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: list[int]) -> bytes:
    _check_member(info, limits)
    cap = min(limits.max_file_bytes, budget[0])
    try:
        with zf.open(info) as fh:
            data = fh.read(cap + 1)  # the header's sizes may lie; the cap may not
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise DecodeError(f"corrupt archive member: {exc}") from exc
    if len(data) > cap:
        raise HostileInput(f"member inflates past {cap} bytes (zip bomb?)")
    budget[0] -= len(data)
    return data


def iter_zip(display: str, source: Path | bytes, limits: Limits, depth: int = 1, budget: list[int] | None = None) -> Iterator[Item]:
    budget = budget if budget is not None else [limits.max_archive_bytes]
    with contextlib.ExitStack() as stack:
        try:
            # A path is opened only as a regular file: a FIFO named x.zip must not block.
            fh = io.BytesIO(source) if isinstance(source, bytes) else stack.enter_context(open_regular(source))
        except NotAnActivity as exc:
            yield Item(display, skip=exc.reason)
            return
        except DecodeError as exc:
            yield Item(display, error=exc)
            return
        yield from _members(display, source, fh, limits, depth, budget)


def _members(display: str, source: Path | bytes, fh: BinaryIO, limits: Limits, depth: int, budget: list[int]) -> Iterator[Item]:
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield Item(display, error=DecodeError(f"not a valid zip archive: {exc}"))
        return
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_archive_entries:
            yield Item(display, error=HostileInput(f"archive has {len(infos)} entries, over the limit of {limits.max_archive_entries}"))
            return
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_archive_bytes:
            yield Item(display, error=HostileInput(f"archive declares {declared} bytes uncompressed, over the {limits.max_archive_bytes}-byte limit"))
            return
        hints: dict[str, dict[str, Any]] = {}
        for info in infos:
            if posixpath.basename(info.filename).lower() == "activities.csv" and not unsafe_member(info.filename):
                prefix = posixpath.dirname(info.filename)
                try:
                    hints |= read_hints(_read_member(zf, info, limits, budget), prefix=f"{prefix}/" if prefix else "")
                except (DecodeError, HostileInput):
                    pass
        for info in infos:
            name = info.filename
            inner = f"{display}!{name}"
            fmt, gz, is_zip = classify(name)
            if unsafe_member(name):
                yield Item(inner, fmt, gz, error=HostileInput(f"unsafe path in archive (zip-slip): {name!r}"))
                continue
            if is_appledouble(name):
                if fmt or is_zip:
                    yield Item(inner, fmt, gz, skip="macOS AppleDouble resource file (__MACOSX/._*), not an activity")
                continue
            if not (fmt or is_zip):
                continue
            try:
                if not is_zip:
                    _check_member(info, limits)
                    # Inflated only when the importer asks (after making room in its window).
                    yield Item(inner, fmt, gz, hints=hints.get(name.lower(), {}), load=_loader(zf, source, info, limits, budget),
                               size=info.file_size, inflates=True)
                    continue
                data = _read_member(zf, info, limits, budget)
            except (DecodeError, HostileInput) as exc:
                yield Item(inner, fmt, gz, error=exc)
                continue
            if depth >= limits.max_nesting:
                yield Item(inner, error=HostileInput(f"archives nested deeper than {limits.max_nesting} levels"))
            else:
                yield from iter_zip(inner, data, limits, depth + 1, budget)


def _loader(zf: zipfile.ZipFile, source: Path | bytes, info: zipfile.ZipInfo, limits: Limits, budget: list[int]) -> Callable[[], bytes]:
    """Reads the member from the open archive; if that was closed meanwhile (the caller
    collected every item first), from the archive opened again."""

    def load() -> bytes:
        if zf.fp is not None:
            return _read_member(zf, info, limits, budget)
        with contextlib.ExitStack() as stack:
            fh = io.BytesIO(source) if isinstance(source, bytes) else stack.enter_context(open_regular(source))
            try:
                again = stack.enter_context(zipfile.ZipFile(fh))
                return _read_member(again, again.getinfo(info.filename), limits, budget)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
                raise DecodeError(f"archive changed while being read: {exc}") from exc

    return load
