"""When two copies are one run: start time, duration and distance agree.

Exports carry time-zone errors (whole or half hours, up to 14 h), so a start
off by such a shift still matches between different formats, but only when
the distances confirm it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, and_, select

from heavylegs.store.tables import activities


@dataclass(frozen=True)
class MatchRules:
    start_tolerance_s: float = 60.0
    max_shift_h: float = 14.0
    duration_tolerance: float = 0.03
    distance_tolerance: float = 0.03

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> MatchRules:
        return cls(**{k: float(section[k]) for k in asdict(cls()) if k in section})



def _rel_ok(a: float | None, b: float | None, tol: float, abs_tol: float) -> bool | None:
    """True/False when both values are usable, None when the criterion cannot be applied."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return abs(a - b) <= max(tol * max(a, b), abs_tol)


def is_same_run(new: Mapping[str, Any], old: Mapping[Any, Any], rules: MatchRules) -> bool:
    """Start within tolerance (or off by whole/half hours, the time-zone errors
    exports carry, when formats differ), with duration and distance agreeing."""
    shift = new["start_ts"] - old["start_ts"]
    if abs(shift) > rules.max_shift_h * 3600 + rules.start_tolerance_s:
        return False
    half_hours = round(shift / 1800.0)
    if abs(shift - half_hours * 1800.0) > rules.start_tolerance_s:
        return False
    if half_hours != 0 and new["format"] == old["format"]:
        return False
    dur = _rel_ok(new["elapsed_s"], old["elapsed_s"], rules.duration_tolerance, 5.0)
    if dur is False or dur is None:
        return False
    dist = _rel_ok(new["distance_m"], old["distance_m"], rules.distance_tolerance, 30.0)
    if dist is False:
        return False
    if dist is None and half_hours != 0:
        return False  # a shifted match needs distance to confirm it
    return True


def find_match(conn: Connection, athlete_id: int, summary: dict[str, Any], rules: MatchRules) -> Any | None:
    window = rules.max_shift_h * 3600 + rules.start_tolerance_s
    rows = conn.execute(
        select(activities).where(
            and_(
                activities.c.athlete_id == athlete_id,
                activities.c.start_ts >= summary["start_ts"] - window,
                activities.c.start_ts <= summary["start_ts"] + window,
            )
        )
    ).all()
    matches = [r for r in rows if is_same_run(summary, r._mapping, rules)]
    # The closest start wins when several would do.
    matches.sort(key=lambda r: abs(r.start_ts - summary["start_ts"]))
    return matches[0] if matches else None
