"""Fetching one activity's streams and storing it, with the cursor in the same transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, update

from heavylegs.settings import Settings
from heavylegs.store.matching import MatchRules
from heavylegs.store.tables import sources
from heavylegs.strava import records
from ingest.strava.client import NotFound, StravaClient


def sport_types(settings: Settings) -> list[str]:
    return [str(s) for s in settings.cfg.strava.sport_types]


def rules(settings: Settings) -> MatchRules:
    return MatchRules.from_settings(settings.cfg.dedup.model_dump())


def settle(engine: Engine, source: Any, summary: dict[str, Any], client: StravaClient, sport_types: list[str], rules: MatchRules,
           cursor: float | None = None, planned: bool = False) -> str:
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
            outcome = records.plan(conn, source, summary, sport_types, rules)
            if outcome != "listed":
                advance(conn)
                return outcome
    # The streams request runs outside any transaction: no database lock is held over the network.
    try:
        streams = client.streams(int(summary["id"]))
    except NotFound:
        with engine.begin() as conn:
            records.mark(conn, int(summary["id"]), "deleted", "gone from Strava")
            advance(conn)
        return "gone"
    with engine.begin() as conn:
        if planned:
            # A file imported since the listing may hold this run now: then only link it.
            outcome = records.plan(conn, source, summary, sport_types, rules)
            if outcome != "listed":
                advance(conn)
                return outcome
        status = records.store_fetched(conn, source, summary, streams, rules)
        advance(conn)
    return "new" if status == "imported" else "duplicate"
