"""Rows of ``strava_activities``: the natural-key record of every Strava activity seen.

``plan`` decides, from a summary alone, whether an activity needs its streams:
a sport we do not track is skipped, one the store already holds (from a watch
file or the bulk export) is linked to it, and only the rest stay ``listed``
until ``store_fetched`` records their streams. ``settle`` runs the whole
step for one summary (plan, fetch the streams, store), and
``apply_retention`` later drops the raw stream JSON.
"""
from __future__ import annotations

import json
import time
import zlib
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, insert, select, update

from heavylegs.settings_schema import StravaSection
from heavylegs.sources.base import SourceEnv
from heavylegs.store.activities import SourceRef, store_activity
from heavylegs.store.matching import MatchRules, find_match
from heavylegs.store.tables import activities, sources
from heavylegs.strava.tables import strava_activities
from ingest.strava import mapping
from ingest.strava.client import NotFound, StravaClient

DONE = frozenset({"stored", "linked", "skipped", "deleted"})

# What ``plan`` decides from a summary alone; 'listed' means "fetch the streams".
Plan = Literal["known", "skipped", "linked", "listed"]
# What ``settle`` did with one summary in the end.
Outcome = Literal["known", "skipped", "linked", "new", "duplicate", "gone"]


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


def plan(conn: Connection, source: Any, summary: dict[str, Any], sport_types: list[str], rules: MatchRules, link: bool = True) -> Plan:
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


def sport_types(env: SourceEnv) -> list[str]:
    return [str(s) for s in env.strava.sport_types]


def rules(env: SourceEnv) -> MatchRules:
    return env.imports.rules


def settle(engine: Engine, source: Any, summary: dict[str, Any], client: StravaClient, sport_types: list[str], rules: MatchRules,
           cursor: float | None = None, planned: bool = False) -> Outcome:
    """Plan one summary and fetch its streams if it needs them.

    Returns 'known', 'skipped', 'linked', 'new', 'duplicate' or 'gone'. When
    ``cursor`` is given, ``sources.cursor`` moves to it in the transaction
    that records the activity, so a crash never skips or repeats work.
    ``planned``: the caller already knows the streams are needed (a backfill's
    listed rows); the plan is then only re-checked when storing.
    """
    def advance(conn: Connection) -> None:
        if cursor is not None:
            conn.execute(update(sources).where(sources.c.id == source.id).values(cursor=str(int(cursor))))

    if not planned:
        with engine.begin() as conn:
            outcome = plan(conn, source, summary, sport_types, rules)
            if outcome != "listed":
                advance(conn)
                return outcome
    # The streams request runs outside any transaction: no database lock is held over the network.
    try:
        streams = client.streams(int(summary["id"]))
    except NotFound:
        with engine.begin() as conn:
            mark(conn, int(summary["id"]), "deleted", "gone from Strava")
            advance(conn)
        return "gone"
    with engine.begin() as conn:
        if planned:
            # A file imported since the listing may hold this run now: then only link it.
            outcome = plan(conn, source, summary, sport_types, rules)
            if outcome != "listed":
                advance(conn)
                return outcome
        status = store_fetched(conn, source, summary, streams, rules)
        advance(conn)
    return "new" if status == "imported" else "duplicate"


def apply_retention(engine: Engine, strava: StravaSection, now: datetime) -> int:
    """Drop raw stream JSON older than ``strava.raw_retention_days`` (0 = keep forever); returns the blobs dropped.

    Only the raw JSON goes: the stored activity (its own compact streams) and
    every derived metric stay, and the summary JSON is kept for dedup.
    """
    days = float(strava.raw_retention_days)
    if days <= 0:
        return 0
    cutoff = now.timestamp() - days * 86_400
    with engine.begin() as conn:
        done = conn.execute(
            update(strava_activities)
            .where(strava_activities.c.streams_z.is_not(None), strava_activities.c.fetched_ts < cutoff)
            .values(streams_z=None)
        )
    return int(done.rowcount or 0)
