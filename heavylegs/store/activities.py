"""Activities in the store: stored once however many copies arrive.

Copies are matched on start time, duration and distance (``store.matching``);
the richest format's data is kept (FIT > TCX > GPX) and every source that
delivered a copy is recorded against the one activity.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, text, update

from heavylegs.store.matching import MatchRules, find_match
from heavylegs.store.streams import decode_streams, encode_streams
from heavylegs.store.tables import activities, activity_sources, analysis_state, athletes
from ingest.files import display_name
from ingest.model import FORMAT_RANK, Activity, Streams


@dataclass(frozen=True)
class SourceRef:
    kind: str  # "file" | "strava"
    ref: str  # display path or Strava activity id
    sha256: str = ""
    format: str | None = None
    source_id: int | None = None

    def __post_init__(self) -> None:
        # A path that is not UTF-8 (surrogate escapes) would fail in every driver: store its display form.
        object.__setattr__(self, "ref", display_name(self.ref))


@dataclass
class StoreResult:
    activity_id: int
    status: str  # "imported" | "duplicate" | "upgraded"
    athlete_id: int


def get_or_create_athlete(conn: Connection, name: str) -> int:
    found = conn.execute(select(athletes.c.id).where(athletes.c.name == name)).scalar()
    if found is not None:
        return int(found)
    key = conn.execute(insert(athletes).values(name=name, created_ts=time.time())).inserted_primary_key
    assert key is not None  # an INSERT returns its key
    return int(key[0])


def find_athlete(conn: Connection, name: str) -> int | None:
    found = conn.execute(select(athletes.c.id).where(athletes.c.name == name)).scalar()
    return None if found is None else int(found)


def mark_dirty(conn: Connection, athlete_id: int) -> None:
    """Flag the athlete's analysis for recompute (the service picks it up)."""
    done = conn.execute(update(analysis_state).where(analysis_state.c.athlete_id == athlete_id).values(dirty=True))
    if done.rowcount == 0:
        conn.execute(insert(analysis_state).values(athlete_id=athlete_id, dirty=True))




def local_date_of(start: datetime, utc_offset_s: int | None) -> date:
    return (start.astimezone(timezone.utc) + timedelta(seconds=utc_offset_s or 0)).date()


def summary_values(act: Activity, streams_z: bytes | None = None) -> dict[str, Any]:
    return {
        "start_ts": act.start_utc.timestamp(),
        "utc_offset_s": act.utc_offset_s,
        "timezone": act.timezone,
        "tz_source": act.tz_source,
        "local_date": local_date_of(act.start_utc, act.utc_offset_s),
        "sport": act.sport,
        "sub_sport": act.sub_sport,
        "name": act.name,
        "manufacturer": act.manufacturer,
        "product": act.product,
        "format": act.format,
        "elapsed_s": float(act.elapsed_s),
        "timer_s": act.timer_s,
        "moving_s": act.moving_s,
        "distance_m": act.distance_m,
        "avg_hr_bpm": act.avg_hr_bpm,
        "max_hr_bpm": act.max_hr_bpm,
        "has_gps": act.has_gps,
        "n_samples": len(act.streams),
        "streams_z": streams_z if streams_z is not None else encode_streams(act.streams),
        "laps_json": json.dumps([asdict(lap) for lap in act.laps]),
        "time_known": bool(act.time_known),
    }


def add_source(conn: Connection, activity_id: int, src: SourceRef) -> None:
    exists = conn.execute(
        select(activity_sources.c.id).where(
            and_(
                activity_sources.c.activity_id == activity_id,
                activity_sources.c.kind == src.kind,
                activity_sources.c.ref == src.ref,
                activity_sources.c.sha256 == src.sha256,
            )
        )
    ).first()
    if exists is None:
        conn.execute(
            insert(activity_sources).values(
                activity_id=activity_id, kind=src.kind, ref=src.ref, sha256=src.sha256, format=src.format, source_id=src.source_id, imported_ts=time.time()
            )
        )


def _insert(
    conn: Connection, athlete_id: int, act: Activity, src: SourceRef, parent_id: int | None, leg: int | None, streams_z: bytes | None = None
) -> int:
    now = time.time()
    values = summary_values(act, streams_z) | {
        "athlete_id": athlete_id,
        "parent_id": parent_id,
        "leg_index": leg,
        "primary_sha256": src.sha256 or None,
        "revision": 1,
        "created_ts": now,
        "updated_ts": now,
    }
    if src.kind == "strava":
        values["strava_id"] = int(src.ref)
    key = conn.execute(insert(activities).values(**values)).inserted_primary_key
    assert key is not None  # an INSERT returns its key
    new_id = int(key[0])
    add_source(conn, new_id, src)
    return new_id


def replace_legs(
    conn: Connection, athlete_id: int, parent_id: int, legs: list[Activity], src: SourceRef, blobs: list[bytes] | None = None
) -> None:
    """A parent's legs from a new decode; a leg keeps its id by index, so metrics and alerts
    that point at it stay valid. Extra old legs go, new ones are inserted with ``src``."""
    old = {
        r.leg_index: r
        for r in conn.execute(select(activities.c.id, activities.c.leg_index, activities.c.revision).where(activities.c.parent_id == parent_id))
    }
    for i, leg in enumerate(legs):
        blob = blobs[i + 1] if blobs and len(blobs) > i + 1 else None
        row = old.pop(i, None)
        if row is None:
            _insert(conn, athlete_id, leg, src, parent_id, i, blob)
        else:
            conn.execute(
                update(activities).where(activities.c.id == row.id)
                .values(**summary_values(leg, blob), revision=row.revision + 1, updated_ts=time.time())
            )
    if old:
        conn.execute(delete(activities).where(activities.c.id.in_([r.id for r in old.values()])))


def lock_athlete(conn: Connection, athlete_id: int) -> None:
    """Serialise dedup per athlete on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7243002, :a)"), {"a": int(athlete_id)})


def store_activity(
    conn: Connection,
    athlete_id: int,
    act: Activity,
    src: SourceRef,
    rules: MatchRules = MatchRules(),
    blobs: list[bytes] | None = None,
) -> StoreResult:
    """Insert ``act`` (and its multisport legs), or attach ``src`` to the stored copy.

    When the new copy is of a richer format, its data replaces the stored
    copy's while the id, name and links stay. Runs inside the caller's
    transaction, so a failure leaves nothing behind.
    """
    lock_athlete(conn, athlete_id)
    # blobs: the activity's and its legs' encoded streams, precomputed by a worker process.
    own_blob = blobs[0] if blobs else None
    summary = summary_values(act, own_blob)
    match = find_match(conn, athlete_id, summary, rules)
    if match is None:
        parent = _insert(conn, athlete_id, act, src, None, None, own_blob)
        for i, leg in enumerate(act.legs):
            _insert(conn, athlete_id, leg, src, parent, i, blobs[i + 1] if blobs and len(blobs) > i + 1 else None)
        mark_dirty(conn, athlete_id)
        return StoreResult(parent, "imported", athlete_id)
    add_source(conn, match.id, src)
    if src.kind == "strava" and match.strava_id is None:
        conn.execute(update(activities).where(activities.c.id == match.id).values(strava_id=int(src.ref)))
    if FORMAT_RANK.get(act.format, 0) > FORMAT_RANK.get(match.format, 0) and len(act.streams) > 0:
        keep = {k: v for k, v in summary.items() if not (k == "name" and v is None)}
        if match.name and act.name is None:
            keep.pop("name", None)
        conn.execute(
            update(activities)
            .where(activities.c.id == match.id)
            .values(**keep, primary_sha256=src.sha256 or match.primary_sha256, revision=match.revision + 1, updated_ts=time.time())
        )
        replace_legs(conn, athlete_id, int(match.id), act.legs, src, blobs)
        mark_dirty(conn, athlete_id)
        return StoreResult(int(match.id), "upgraded", athlete_id)
    fill = {}
    if match.name is None and act.name:
        fill["name"] = act.name
    if fill:
        conn.execute(update(activities).where(activities.c.id == match.id).values(**fill, updated_ts=time.time()))
    return StoreResult(int(match.id), "duplicate", athlete_id)


def load_streams(conn: Connection, activity_id: int) -> Streams:
    blob = conn.execute(select(activities.c.streams_z).where(activities.c.id == activity_id)).scalar()
    return decode_streams(blob)


def delete_activity(conn: Connection, activity_id: int) -> bool:
    row = conn.execute(select(activities.c.athlete_id).where(activities.c.id == activity_id)).first()
    if row is None:
        return False
    conn.execute(delete(activities).where(activities.c.parent_id == activity_id))
    conn.execute(delete(activities).where(activities.c.id == activity_id))
    mark_dirty(conn, int(row.athlete_id))
    return True


def apply_hints(conn: Connection, activity_id: int, hints: dict[str, Any]) -> None:
    """An export's name and Strava id for a stored activity that lacks them.

    Linking the Strava id here is what makes a later API backfill nearly free.
    """
    if not hints:
        return
    row = conn.execute(select(activities.c.name, activities.c.strava_id).where(activities.c.id == activity_id)).first()
    if row is None:
        return
    values: dict[str, Any] = {}
    if hints.get("name") and not row.name:
        values["name"] = hints["name"]
    sid = hints.get("strava_id")
    if sid and row.strava_id is None:
        taken = conn.execute(select(activities.c.id).where(activities.c.strava_id == int(sid))).first()
        if taken is None:
            values["strava_id"] = int(sid)
            add_source(conn, activity_id, SourceRef("strava", str(sid), "", "strava"))
    if values:
        conn.execute(update(activities).where(activities.c.id == activity_id).values(**values, updated_ts=time.time()))
