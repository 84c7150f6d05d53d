"""Garmin activity summaries: the few fields the sync relies on, read defensively.

Only ``activityId`` and ``activityType.typeKey`` are documented as stable;
start, duration and distance are usually there and only serve to recognise
a run the store already holds. The downloaded file is the truth.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def activity_id(summary: dict[str, Any]) -> int:
    return int(summary["activityId"])


def type_key(summary: dict[str, Any]) -> str:
    kind = summary.get("activityType")
    if isinstance(kind, dict):
        return str(kind.get("typeKey") or "")
    return str(kind or "")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number > 0 else None


def start_ts(summary: dict[str, Any]) -> float | None:
    """Unix seconds from ``beginTimestamp`` (ms), else ``startTimeGMT`` ("YYYY-MM-DD HH:MM:SS", UTC)."""
    begin = _number(summary.get("beginTimestamp"))
    if begin is not None:
        return begin / 1000.0
    text = summary.get("startTimeGMT")
    if isinstance(text, str) and text:
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"):
            try:
                return datetime.strptime(text.rstrip("Z"), fmt).replace(tzinfo=timezone.utc).timestamp()
            except ValueError:
                continue
    return None


def durations_s(summary: dict[str, Any]) -> list[float]:
    """Candidate durations (elapsed first, then timer/moving): one of them should match the file."""
    out: list[float] = []
    for key in ("elapsedDuration", "duration", "movingDuration"):
        value = _number(summary.get(key))
        if value is not None and value not in out:
            out.append(value)
    return out


def distance_m(summary: dict[str, Any]) -> float | None:
    return _number(summary.get("distance"))


def wanted(summary: dict[str, Any], types: list[str]) -> bool:
    return type_key(summary) in types
