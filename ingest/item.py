"""One input the walker yields: a file, an archive member or an error, with its format from the name.

Kept apart from ``walk`` (which reads folders and archives) because ``archive`` builds
items too, and ``walk`` imports ``archive``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import IngestError

ACTIVITY_SUFFIXES = {".fit": "fit", ".gpx": "gpx", ".tcx": "tcx"}
APPLEDOUBLE_REASON = "macOS AppleDouble resource file (._*), not an activity"


@dataclass
class Item:
    display: str
    fmt: str | None = None  # from the name: fit | gpx | tcx, None when unknown
    gz: bool = False
    fs_path: Path | None = None
    payload: bytes | None = None
    load: Callable[[], bytes] | None = None  # an archive member, inflated when asked for
    size: int | None = None  # bytes the file or member holds before any gunzip, when known
    inflates: bool = False  # reading it inflates (a zip member): twice ``size`` for a moment
    hints: dict[str, Any] = field(default_factory=dict)
    error: IngestError | None = None
    skip: str | None = None


def classify(name: str) -> tuple[str | None, bool, bool]:
    """(format, gzipped, is_zip) from a file name, case-insensitively."""
    low = name.lower()
    if low.endswith(".zip"):
        return None, False, True
    gz = low.endswith(".gz")
    if gz:
        low = low[:-3]
    for suffix, fmt in ACTIVITY_SUFFIXES.items():
        if low.endswith(suffix):
            return fmt, gz, False
    return None, gz, False


def is_appledouble(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._")
