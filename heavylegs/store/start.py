"""A start time the user gives an activity whose file has no real date.

Devices whose clock was never set write times counted from power-on; such
activities are stored with ``time_known = false`` and left out of the
analysis. ``heavylegs set-start`` gives them a real start: the activity and
its legs move by the same amount, get a local date and ``time_known =
true``, and the athlete's analysis is marked for recompute.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from heavylegs.store.activities import local_date_of, mark_dirty
from heavylegs.store.tables import activities
from ingest.model import Activity

USER = "user"  # tz_source of a start the user set


class StartError(ValueError):
    """Why a start cannot be set (unknown id, a leg instead of its activity)."""


@dataclass(frozen=True)
class NewStart:
    activity_id: int
    start_utc: datetime
    utc_offset_s: int
    moved_s: float


def parse_start(text: str, zone: ZoneInfo) -> tuple[datetime, int]:
    """'YYYY-MM-DDTHH:MM:SS[+HH:MM]' -> (aware UTC start, UTC offset in s); a time without
    an offset is local time in ``zone``."""
    try:
        given = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise StartError(f"{text!r} is not a time (YYYY-MM-DDTHH:MM:SS, optionally +HH:MM)") from exc
    if given.tzinfo is None:
        given = given.replace(tzinfo=zone)
    off = given.utcoffset()
    return given.astimezone(timezone.utc), int(off.total_seconds()) if off is not None else 0


def set_start(conn: Connection, activity_id: int, start_utc: datetime, utc_offset_s: int, zone_name: str | None = None) -> NewStart:
    row = conn.execute(select(activities).where(activities.c.id == activity_id)).first()
    if row is None:
        raise StartError(f"no activity with id {activity_id}")
    if row.parent_id is not None:
        raise StartError(f"activity {activity_id} is a leg of activity {row.parent_id}: set the start of {row.parent_id}")
    moved = start_utc.timestamp() - float(row.start_ts)
    family = conn.execute(select(activities.c.id, activities.c.start_ts, activities.c.revision).where(
        (activities.c.id == activity_id) | (activities.c.parent_id == activity_id))).all()
    now = time.time()
    for member in family:
        start = datetime.fromtimestamp(float(member.start_ts) + moved, timezone.utc)
        conn.execute(update(activities).where(activities.c.id == member.id).values(
            start_ts=start.timestamp(), utc_offset_s=utc_offset_s, timezone=zone_name, tz_source=USER,
            local_date=local_date_of(start, utc_offset_s), time_known=True,
            revision=member.revision + 1, updated_ts=now,
        ))
    mark_dirty(conn, int(row.athlete_id))
    return NewStart(activity_id, start_utc, utc_offset_s, moved)


def keep_user_start(act: Activity, start_ts: float, utc_offset_s: int | None) -> None:
    """A fresh decode of a clockless file moved to the start the user set earlier (rebuild)."""
    moved = timedelta(seconds=start_ts - act.start_utc.timestamp())
    for one in (act, *act.legs):
        one.start_utc = one.start_utc + moved
        one.time_known = True
        one.utc_offset_s = utc_offset_s
        one.tz_source = USER
