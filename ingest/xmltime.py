"""ISO 8601 timestamps of GPX/TCX points -> numpy datetime64[us] in UTC.

Almost every file writes UTC with a trailing Z, which numpy parses in C for
the whole column at once; anything else (offsets, naive times, stray
whitespace) goes through ``datetime.fromisoformat`` one value at a time.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

NAT = np.datetime64("NaT", "us")


def _fast(texts: Sequence[str | None]) -> np.ndarray | None:
    """Column parse when every value is 'YYYY-MM-DDTHH:MM:SS[.f]Z'."""
    try:
        stripped = [t[:-1] for t in texts if t[-1] == "Z" and t[10] == "T"]  # type: ignore[index]
    except (TypeError, IndexError):
        return None
    if len(stripped) != len(texts):
        return None
    try:
        return np.array(stripped, dtype="datetime64[us]")
    except ValueError:
        return None


def parse_one(text: str | None) -> datetime | None:
    """One timestamp as an aware UTC datetime; naive times are UTC; None when unreadable."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def local_offset_s(text: str | None) -> int | None:
    """The UTC offset a timestamp states explicitly (not Z, not naive), in seconds."""
    if text is None:
        return None
    text = text.strip()
    if not text or text.endswith(("Z", "z")):
        return None
    try:
        off = datetime.fromisoformat(text).utcoffset()
    except ValueError:
        return None
    return None if off is None else int(off.total_seconds())


def parse_times(texts: Sequence[str | None]) -> np.ndarray:
    """datetime64[us] UTC array, NaT where a value is missing or unreadable."""
    if not texts:
        return np.zeros(0, dtype="datetime64[us]")
    fast = _fast(texts)
    if fast is not None:
        return fast
    out = np.full(len(texts), NAT)
    for i, text in enumerate(texts):
        dt = parse_one(text)
        if dt is not None:
            out[i] = np.datetime64(dt.replace(tzinfo=None), "us")
    return out


def to_datetime(value: np.datetime64) -> datetime:
    """An aware UTC datetime from a datetime64[us]."""
    us = int(value.astype("datetime64[us]").astype(np.int64))
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + np.timedelta64(us, "us").item()
