"""Strava push events: received fast, processed by the service's sync.

The endpoint only validates and stores (deduplicated on object_type,
object_id, aspect_type, event_time and updates, since Strava redelivers);
``process_events`` does the work in the sync job. Deauthorizations go first
because they need no API call and make every other call fail.
"""
from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from heavylegs.settings import Settings
from heavylegs.store.activities import delete_activity, mark_dirty
from heavylegs.store.tables import activities, activity_sources, sources
from heavylegs.strava import records
from heavylegs.strava.fetch import settle
from heavylegs.strava.tables import strava_activities, strava_events, strava_subscription, strava_tokens
from heavylegs.strava.tokens import delete_tokens
from ingest.strava import mapping
from ingest.strava.client import NotFound, StravaClient


def handshake(engine: Engine, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Answer Strava's subscription check: echo hub.challenge when hub.verify_token is ours."""
    with engine.connect() as conn:
        token = conn.execute(select(strava_subscription.c.verify_token).where(strava_subscription.c.id == 1)).scalar()
    if params.get("hub.mode") != "subscribe" or not token or params.get("hub.verify_token") != token:
        return 403, {"error": "verify token mismatch"}
    return 200, {"hub.challenge": params.get("hub.challenge", "")}


def receive(engine: Engine, event: Any) -> tuple[int, dict[str, Any]]:
    """Validate and store one event; (status, body). Returns quickly: no API calls here."""
    try:
        key = {
            "object_type": str(event["object_type"]), "object_id": int(event["object_id"]), "aspect_type": str(event["aspect_type"]),
            "event_time": int(event["event_time"]), "updates": json.dumps(event.get("updates") or {}, sort_keys=True),
        }
        owner, subscription = int(event["owner_id"]), int(event["subscription_id"])
    except (KeyError, TypeError, ValueError):
        return 400, {"error": "not a Strava event"}
    with engine.begin() as conn:
        ours = conn.execute(select(strava_subscription.c.subscription_id).where(strava_subscription.c.id == 1)).scalar()
        if ours is None or int(ours) != subscription:
            return 403, {"error": "unknown subscription"}
        source_id = conn.execute(select(strava_tokens.c.source_id).where(strava_tokens.c.strava_athlete_id == owner)).scalar()
        if source_id is None:
            return 200, {"stored": False, "reason": "unknown athlete"}  # 200 so Strava does not retry
        duplicate = conn.execute(select(exists().where(*[strava_events.c[k] == v for k, v in key.items()]))).scalar()
        if duplicate:
            return 200, {"stored": False, "reason": "duplicate"}
        try:
            with conn.begin_nested():
                conn.execute(insert(strava_events).values(source_id=int(source_id), received_ts=time.time(), **key))
        except IntegrityError:  # a concurrent redelivery won the race
            return 200, {"stored": False, "reason": "duplicate"}
    return 200, {"stored": True}


def _deauthorize(conn: Connection, source: Any) -> None:
    delete_tokens(conn, int(source.id))
    conn.execute(
        update(sources).where(sources.c.id == source.id)
        .values(enabled=False, status="needs_reauth", last_error="access revoked on Strava: run heavylegs connect strava to reconnect")
    )


def _update(conn: Connection, source: Any, object_id: int, updates: dict[str, Any]) -> str:
    row = records.get(conn, object_id)
    if row is None:
        return "unknown activity"
    summary = records.unpack(row.summary_z)
    if "title" in updates:
        summary["name"] = updates["title"]
    if "type" in updates:
        summary["type"] = summary["sport_type"] = updates["type"]
    if "private" in updates:
        summary["private"] = str(updates["private"]).lower() == "true"
    conn.execute(update(strava_activities).where(strava_activities.c.strava_id == object_id).values(
        summary_z=records.pack(summary), sport_type=mapping.sport_type(summary)[:40]))
    if row.activity_id is not None:
        values: dict[str, Any] = {"updated_ts": time.time()}
        if "title" in updates:
            values["name"] = str(updates["title"])[:255]
        if "type" in updates:
            values["sport"], values["sub_sport"] = mapping.sport_of(summary)
        conn.execute(update(activities).where(activities.c.id == row.activity_id).values(**values))
        mark_dirty(conn, int(source.athlete_id))
    return "updated"


def _delete(conn: Connection, object_id: int) -> str:
    row = records.get(conn, object_id)
    activity_id = row.activity_id if row is not None else None
    if activity_id is None:
        activity_id = conn.execute(select(activities.c.id).where(activities.c.strava_id == object_id)).scalar()
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


def process_events(client: StravaClient, engine: Engine, settings: Settings, source: Any) -> dict[str, int]:
    """Handle the source's pending events once each; returns counts (and 'deauthorized')."""
    from heavylegs.strava.sync import rules, sport_types  # sync imports this module

    with engine.connect() as conn:
        pending = list(conn.execute(
            select(strava_events).where(strava_events.c.source_id == source.id, strava_events.c.processed_ts.is_(None))
            .order_by(strava_events.c.event_time, strava_events.c.id)
        ))
    counts = {"events": 0, "new": 0, "deauthorized": 0}
    revoked = [e for e in pending if e.object_type == "athlete" and json.loads(e.updates).get("authorized") == "false"]
    if revoked:
        with engine.begin() as conn:
            _deauthorize(conn, source)
            conn.execute(update(strava_events).where(strava_events.c.source_id == source.id, strava_events.c.processed_ts.is_(None))
                         .values(processed_ts=time.time(), outcome="deauthorized"))
        counts["deauthorized"] = 1
        return counts
    for event in pending:
        outcome = "ignored"
        if event.object_type == "activity" and event.aspect_type == "create":
            with engine.connect() as conn:
                row = records.get(conn, event.object_id)
            if row is None or row.state not in records.DONE:
                try:
                    summary = client.activity(int(event.object_id))  # the summary first: a file may already hold this run
                    outcome = settle(engine, source, summary, client, sport_types(settings), rules(settings))
                except NotFound:
                    outcome = "gone"
                counts["new"] += outcome == "new"
            else:
                outcome = "known"
        with engine.begin() as conn:
            if event.object_type == "activity" and event.aspect_type == "update":
                outcome = _update(conn, source, int(event.object_id), json.loads(event.updates))
            elif event.object_type == "activity" and event.aspect_type == "delete":
                outcome = _delete(conn, int(event.object_id))
            conn.execute(update(strava_events).where(strava_events.c.id == event.id).values(processed_ts=time.time(), outcome=outcome))
        counts["events"] += 1
    return counts
