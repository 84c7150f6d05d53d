"""Opening the user's files safely, and naming them safely.

Only regular files are read: a FIFO named ``run.gpx`` would block an open
forever and a symlink to ``/dev/zero`` would read until memory runs out. The
check is made on the open descriptor (``fstat``), so swapping the file between
a look and the open changes nothing, and the open itself never blocks
(``O_NONBLOCK`` only matters for FIFOs and devices).

File names on Linux are bytes; one that is not UTF-8 reaches Python as a
string with surrogate escapes, which no database driver, JSON encoder or
terminal accepts. ``display_name`` turns such a name into plain UTF-8 text with
the undecodable bytes written as ``\\xNN``; the real path is kept for opening.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from ingest.errors import DecodeError, HostileInput, NotAnActivity

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class NotRegularFile(NotAnActivity):
    """The path is a FIFO, device, socket or directory: never read (reported as skipped)."""


def display_name(path: str | os.PathLike[str]) -> str:
    """``path`` as valid UTF-8 text: unchanged when it already is, else with each
    undecodable byte written as ``\\xNN`` (a name to store, show and print)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes the file system holds
    except UnicodeEncodeError:  # a lone surrogate that did not come from a file name
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)", ...), None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def not_regular_reason(kind: str) -> str:
    return f"{kind}, not a regular file: only regular files are imported"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if, once open, it is a regular file; else NotRegularFile."""
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(not_regular_reason(kind))
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, refusing more than ``max_bytes``."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise HostileInput(f"file is {size} bytes, over the {max_bytes}-byte limit")
        try:
            data = fh.read(size + 1)
            if len(data) > size:  # grew since (or /proc, which says 0): the cap still holds
                data += fh.read(max_bytes + 1 - len(data))
        except OSError as exc:
            raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise HostileInput(f"file grew past the {max_bytes}-byte limit while being read")
    return data
