"""Splitting a file with several sessions into legs.

Rule: a file with more than one session becomes one parent Activity (totals
and streams over the whole file) whose ``legs`` hold one Activity per session.
The parent's sport is ``multisport`` when the sessions' sports differ or one
is a transition, otherwise the sessions' common sport (several runs recorded
as separate sessions stay a run, with the sessions as legs). Records go to the
session whose start time is the latest one not after them; records before the
first session belong to it (a Fenix 2 writes a first session start_time 45
minutes after its first record), and a leg starts at its first record when
that is earlier than the session's start_time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ingest.fit.reference import FIT_EPOCH_UNIX
from ingest.fit.streams import slice_streams
from ingest.model import Activity, Lap, Streams


def fit_time(value: Any) -> float | None:
    """A FIT date_time as unix seconds; small ints are device system time (clock never set)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value + FIT_EPOCH_UNIX)
    return None


def _session_start(session: dict[str, Any]) -> float | None:
    start = fit_time(session.get("start_time"))
    if start is not None:
        return start
    end, elapsed = fit_time(session.get("timestamp")), session.get("total_elapsed_time")
    if end is not None and isinstance(elapsed, (int, float)):
        return end - float(elapsed)
    return None


def session_bounds(sessions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[float]]:
    """Sessions with a known start, in time order, and their start times (unix s)."""
    timed = [(start, i, s) for i, s in enumerate(sessions) if (start := _session_start(s)) is not None]
    timed.sort(key=lambda item: (item[0], item[1]))
    return [s for _, _, s in timed], [start for start, _, _ in timed]


def combined_sport(sports: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    names = {sport for sport, _ in sports}
    if len(names) > 1 or "transition" in names or "multisport" in names:
        return "multisport", None
    return sports[0]


def build_legs(
    parent: Activity,
    sessions: list[dict[str, Any]],
    starts: list[float],
    sports: list[tuple[str, str | None]],
    laps_between: Callable[[float, float], list[Lap]],
) -> list[Activity]:
    """One Activity per session; totals are filled by the caller."""
    parent_start = parent.start_utc.timestamp()
    absolute = parent.streams.time_s + parent_start
    legs = []
    for i, (start, (sport, sub_sport)) in enumerate(zip(starts, sports)):
        end = starts[i + 1] if i + 1 < len(starts) else np.inf
        mask = absolute < end
        if i > 0:
            mask &= absolute >= start
        if mask.any():
            start = min(start, float(absolute[mask][0]))  # records before a mis-stamped session start
        streams = slice_streams(parent.streams, mask, start - parent_start) if len(parent.streams) else Streams.empty()
        legs.append(
            replace(
                parent,
                start_utc=datetime.fromtimestamp(start, timezone.utc),
                sport=sport,
                sub_sport=sub_sport,
                streams=streams,
                laps=laps_between(start, float(end)),
                legs=[],
                notes=[],
                avg_hr_bpm=None,
                max_hr_bpm=None,
            )
        )
    return legs
