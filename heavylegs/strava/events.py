"""Processing stored Strava push events, each confirmed with the Strava API first.

An event is only a hint: anyone who learned the callback path could forge one,
so nothing is changed on its word alone.

- *delete*: the activity is removed only when ``GET /activities/{id}`` answers 404.
- *update*: the activity is fetched again and its title, type and privacy are
  taken from Strava's answer, never from the event's ``updates``.
- *deauthorization*: the tokens are deleted only when the access token is
  refused (401) and a refresh is refused too.
- *create*: coalesced by object id, skipped when already stored, at most
  ``strava.webhook_creates_per_sync`` fetched per sync (the rest wait), and
  stored only when the activity belongs to the connected athlete.

Events about nothing we store cost no request. One fetch per activity per run.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, select, update

from heavylegs.sources.base import SourceEnv
from heavylegs.store.activities import delete_activity, mark_dirty
from heavylegs.store.tables import activities, activity_sources, sources
from heavylegs.strava import records
from heavylegs.strava.records import rules, settle, sport_types
from heavylegs.strava.tables import strava_activities, strava_events, strava_tokens
from heavylegs.strava.tokens import NeedsReauth, TokenManager, delete_tokens
from ingest.strava import mapping
from ingest.strava.client import (
    InvalidGrant,
    NotFound,
    StravaClient,
    StravaError,
    Unauthorized,
)

DEFAULT_CREATES_PER_SYNC = 20


def _deauthorize(conn: Connection, source: Any) -> None:
    delete_tokens(conn, int(source.id))
    conn.execute(
        update(sources).where(sources.c.id == source.id)
        .values(enabled=False, status="needs_reauth", last_error="access revoked on Strava: run heavylegs connect strava to reconnect")
    )


def _refresh_refused(exc: NeedsReauth) -> bool:
    """True when Strava refused the refresh token itself (400), not our app credentials."""
    cause = exc.__cause__
    return cause is None or (isinstance(cause, InvalidGrant) and cause.status == 400)


def access_revoked(client: StravaClient, engine: Engine, env: SourceEnv, source: Any) -> bool:
    """Whether the athlete really revoked our access: ``GET /athlete`` refused even after a refresh.

    Raises (leaving the events pending) when neither can be shown, e.g. Strava
    unreachable or our client secret refused.
    """
    try:
        client.athlete()
        return False
    except NeedsReauth as exc:  # the manager's own refresh was refused
        if _refresh_refused(exc):
            return True
        raise
    except Unauthorized:
        pass
    # The access token was refused: a forced refresh tells revocation from a stale token.
    forced = TokenManager(engine, env, int(source.id), client, clock=lambda: math.inf)
    try:
        forced.access_token()
    except NeedsReauth as exc:
        if _refresh_refused(exc):
            return True
        raise
    client.token = TokenManager(engine, env, int(source.id), client).access_token  # the refreshed pair from now on
    try:
        client.athlete()
        return False
    except Unauthorized:
        return True


class _Lookup:
    """``GET /activities/{id}`` at most once per activity per run: the summary, or None for 404."""

    def __init__(self, client: StravaClient) -> None:
        self.client = client
        self.seen: dict[int, dict[str, Any] | None] = {}

    def __call__(self, strava_id: int) -> dict[str, Any] | None:
        if strava_id not in self.seen:
            try:
                self.seen[strava_id] = self.client.activity(strava_id)
            except NotFound:
                self.seen[strava_id] = None
        return self.seen[strava_id]


def _apply_update(conn: Connection, source: Any, row: Any, fresh: dict[str, Any]) -> str:
    summary = records.unpack(row.summary_z)
    for field in ("name", "type", "sport_type", "private", "trainer"):
        if field in fresh:
            summary[field] = fresh[field]
    conn.execute(update(strava_activities).where(strava_activities.c.strava_id == row.strava_id).values(
        summary_z=records.pack(summary), sport_type=mapping.sport_type(summary)[:40]))
    if row.activity_id is not None:
        sport, sub_sport = mapping.sport_of(summary)
        conn.execute(update(activities).where(activities.c.id == row.activity_id).values(
            name=None if summary.get("name") is None else str(summary["name"])[:255], sport=sport, sub_sport=sub_sport, updated_ts=time.time()))
        mark_dirty(conn, int(source.athlete_id))
    return "updated"


def _stored_activity(conn: Connection, object_id: int) -> tuple[Any, int | None]:
    row = records.get(conn, object_id)
    activity_id = row.activity_id if row is not None else None
    if activity_id is None:
        activity_id = conn.execute(select(activities.c.id).where(activities.c.strava_id == object_id)).scalar()
    return row, activity_id


def _delete(conn: Connection, object_id: int) -> str:
    row, activity_id = _stored_activity(conn, object_id)
    if row is not None:
        conn.execute(update(strava_activities).where(strava_activities.c.strava_id == object_id).values(state="deleted", streams_z=None, activity_id=None))
    if activity_id is None:
        return "nothing stored"
    others = conn.execute(select(exists().where(activity_sources.c.activity_id == activity_id, activity_sources.c.kind != "strava"))).scalar()
    if others:
        # A watch file delivered this run too: the run happened, only Strava's copy is gone.
        conn.execute(delete(activity_sources).where(activity_sources.c.activity_id == activity_id, activity_sources.c.kind == "strava"))
        conn.execute(update(activities).where(activities.c.id == activity_id).values(strava_id=None, updated_ts=time.time()))
        return "unlinked"
    delete_activity(conn, int(activity_id))
    return "deleted"


def _owner(engine: Engine, source: Any) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(select(strava_tokens.c.strava_athlete_id).where(strava_tokens.c.source_id == source.id)).scalar()
    return None if found is None else int(found)


def _create(engine: Engine, env: SourceEnv, source: Any, client: StravaClient, lookup: _Lookup, object_id: int, owner: int | None) -> str:
    with engine.connect() as conn:
        row = records.get(conn, object_id)
    if row is not None and row.state in records.DONE:
        return "known"
    summary = lookup(object_id)  # the summary first: a file may already hold this run
    if summary is None:
        return "gone"
    if owner is None or int((summary.get("athlete") or {}).get("id") or -1) != owner:
        return "not this athlete's activity"  # a forged id of someone else's public activity
    return settle(engine, source, summary, client, sport_types(env), rules(env))


def _one(engine: Engine, source: Any, lookup: _Lookup, event: Any) -> str:
    """An update or delete, confirmed first; events about nothing stored cost no request."""
    object_id = int(event.object_id)
    with engine.connect() as conn:
        row, activity_id = _stored_activity(conn, object_id)
    if event.aspect_type == "update":
        if row is None:
            return "unknown activity"
        fresh = lookup(object_id)
        if fresh is None:
            return "gone from Strava: not updated"  # a delete event, confirmed on its own, removes it
        with engine.begin() as conn:
            current = records.get(conn, object_id)
            return "unknown activity" if current is None else _apply_update(conn, source, current, fresh)
    if (row is None or row.state == "deleted") and activity_id is None:
        return "nothing stored"
    if lookup(object_id) is not None:
        return "still on Strava: not deleted"
    with engine.begin() as conn:
        return _delete(conn, object_id)


def process_events(client: StravaClient, engine: Engine, env: SourceEnv, source: Any) -> dict[str, int]:
    """Handle the source's pending events; returns counts (and 'deauthorized').

    Each event is marked processed once handled (acting twice is harmless: a
    second delete finds nothing, a second update writes the same values). A
    Strava error other than 404 (unreachable, 5xx, 401, rate limit) propagates
    and leaves the rest pending for the next sync.
    """
    with engine.connect() as conn:
        pending = list(conn.execute(
            select(strava_events).where(strava_events.c.source_id == source.id, strava_events.c.processed_ts.is_(None))
            .order_by(strava_events.c.event_time, strava_events.c.id)
        ))
    counts = {"events": 0, "new": 0, "deauthorized": 0}

    def done(ids: list[int], outcome: str, conn: Connection | None = None) -> None:
        query = update(strava_events).where(strava_events.c.id.in_(ids)).values(processed_ts=time.time(), outcome=outcome[:200])
        if conn is not None:
            conn.execute(query)
        else:
            with engine.begin() as own:
                own.execute(query)
        counts["events"] += len(ids)

    revoked = [e for e in pending if e.object_type == "athlete" and json.loads(e.updates).get("authorized") == "false"]
    if revoked:
        if access_revoked(client, engine, env, source):
            with engine.begin() as conn:
                _deauthorize(conn, source)
                done([e.id for e in pending], "deauthorized", conn)
            counts["deauthorized"] = 1
            return counts
        done([e.id for e in revoked], "not confirmed: the token still works")
    skip = {e.id for e in revoked}
    lookup, owner = _Lookup(client), _owner(engine, source)
    creates_left = env.strava.webhook_creates_per_sync
    handled_creates: set[int] = set()
    for event in pending:
        if event.id in skip:
            continue
        outcome = "ignored"
        try:
            if event.object_type == "activity" and event.aspect_type == "create":
                if int(event.object_id) in handled_creates:
                    outcome = "coalesced"
                elif creates_left <= 0:
                    continue  # waits for the next sync: a flood cannot spend the rate budget
                else:
                    handled_creates.add(int(event.object_id))
                    outcome = _create(engine, env, source, client, lookup, int(event.object_id), owner)
                    creates_left -= outcome != "known"  # only a fetch spends the allowance
                    counts["new"] += outcome == "new"
            elif event.object_type == "activity":
                outcome = _one(engine, source, lookup, event)
        except StravaError as exc:
            if exc.status is None or exc.status in (401, 429) or exc.status >= 500:
                raise
            outcome = f"refused by Strava ({exc.status})"  # e.g. 403: never retried, never acted on
        done([event.id], outcome)
    return counts
