"""Rows of ``strava_activities``: the natural-key record of every Strava activity seen.

``plan`` decides, from a summary alone, whether an activity needs its streams:
a sport we do not track is skipped, one the store already holds (from a watch
file or the bulk export) is linked to it, and only the rest stay ``listed``
until ``store_fetched`` records their streams.
"""
from __future__ import annotations

import json
import time
import zlib
from typing import Any

from sqlalchemy import Connection, insert, select, update

from heavylegs.store.activities import SourceRef, store_activity
from heavylegs.store.matching import MatchRules, find_match
from heavylegs.store.tables import activities
from heavylegs.strava.tables import strava_activities
from ingest.strava import mapping

DONE = frozenset({"stored", "linked", "skipped", "deleted"})


def pack(obj: Any) -> bytes:
    return zlib.compress(json.dumps(obj, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes | None) -> Any:
    return None if blob is None else json.loads(zlib.decompress(blob))


def get(conn: Connection, strava_id: int) -> Any:
    return conn.execute(select(strava_activities).where(strava_activities.c.strava_id == int(strava_id))).first()


def upsert(conn: Connection, source: Any, summary: dict[str, Any], state: str, **extra: Any) -> None:
    """Insert or update the row for ``summary['id']``; the summary JSON is always the latest seen."""
    sid = int(summary["id"])
    values = {
        "source_id": int(source.id),
        "athlete_id": int(source.athlete_id),
        "start_ts": mapping.parse_time(summary["start_date"]).timestamp(),
        "sport_type": mapping.sport_type(summary)[:40],
        "state": state,
        "summary_z": pack(summary),
        **extra,
    }
    done = conn.execute(update(strava_activities).where(strava_activities.c.strava_id == sid).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(strava_activities).values(strava_id=sid, listed_ts=time.time(), **values))


def _source_ref(source: Any, strava_id: int) -> SourceRef:
    return SourceRef(kind="strava", ref=str(int(strava_id)), format="strava", source_id=int(source.id))


def plan(conn: Connection, source: Any, summary: dict[str, Any], sport_types: list[str], rules: MatchRules, link: bool = True) -> str:
    """Record ``summary`` and say what it needs: 'known', 'skipped', 'linked' or 'listed' (streams to fetch)."""
    sid = int(summary["id"])
    row = get(conn, sid)
    if row is not None and row.state in DONE:
        return "known"
    if not mapping.wanted(summary, sport_types):
        if link:
            upsert(conn, source, summary, "skipped")
        return "skipped"
    owner = conn.execute(select(activities.c.id).where(activities.c.strava_id == sid)).scalar()
    if owner is None:
        match = find_match(conn, int(source.athlete_id), mapping.match_key(summary), rules)
        owner = None if match is None else int(match.id)
    if owner is None:
        if link:
            upsert(conn, source, summary, "listed")
        return "listed"
    if link:
        # A summary-only copy finds the stored run and only adds the Strava link
        # (no streams, so it never replaces the richer file's data).
        store_activity(conn, int(source.athlete_id), mapping.to_activity(summary, None), _source_ref(source, sid), rules)
        upsert(conn, source, summary, "linked", activity_id=owner)
    return "linked"


def store_fetched(conn: Connection, source: Any, summary: dict[str, Any], streams: dict[str, Any], rules: MatchRules) -> str:
    """Store the activity built from summary + streams; returns the store's status."""
    sid = int(summary["id"])
    act = mapping.to_activity(summary, streams)
    result = store_activity(conn, int(source.athlete_id), act, _source_ref(source, sid), rules)
    upsert(conn, source, summary, "stored", activity_id=result.activity_id, streams_z=pack(streams), fetched_ts=time.time(), error=None)
    return result.status


def mark(conn: Connection, strava_id: int, state: str, error: str | None = None) -> None:
    conn.execute(update(strava_activities).where(strava_activities.c.strava_id == int(strava_id)).values(state=state, error=error))
