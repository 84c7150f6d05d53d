"""Strava push events: received fast, processed by the service's sync.

The receiver trusts nothing in an event. It is reached only through the
secret callback path (``subscription.path_secret``), takes only JSON, and
answers every well-formed event with the same 200 and body, whether or not
the subscription and athlete are ours and whether or not the event was new,
so ids cannot be guessed from the answers. It only stores (deduplicated on
object_type, object_id, aspect_type, event_time and updates, since Strava
redelivers; creates also coalesced by object id); ``events.process_events``
then confirms each event with the Strava API before it changes anything.
"""
from __future__ import annotations

import hmac
import json
import time
from typing import Any

from sqlalchemy import Engine, exists, func, insert, select
from sqlalchemy.exc import IntegrityError

from heavylegs.strava import records
from heavylegs.strava.events import process_events
from heavylegs.strava.tables import strava_events, strava_subscription, strava_tokens

__all__ = ["ACK", "handshake", "process_events", "receive"]

# The one answer to every well-formed event (Strava only needs a 200 within 2 s).
ACK: dict[str, Any] = {"received": True}
OBJECT_TYPES = ("activity", "athlete")
ASPECT_TYPES = ("create", "update", "delete")
DEFAULT_MAX_PENDING = 500
DEAUTHORIZED = json.dumps({"authorized": "false"}, sort_keys=True)  # the canonical ``updates`` of a deauthorization


def handshake(engine: Engine, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Answer Strava's subscription check: echo hub.challenge when hub.verify_token is ours."""
    with engine.connect() as conn:
        token = conn.execute(select(strava_subscription.c.verify_token).where(strava_subscription.c.id == 1)).scalar()
    offered = params.get("hub.verify_token") or ""
    # compare_digest: the time taken must not tell how much of a guess was right.
    matches = bool(token) and hmac.compare_digest(offered.encode(), str(token).encode())
    if params.get("hub.mode") != "subscribe" or not matches:
        return 403, {"error": "verify token mismatch"}
    return 200, {"hub.challenge": params.get("hub.challenge", "")}


def _parse(event: Any) -> tuple[dict[str, Any], int, int] | None:
    try:
        key = {
            "object_type": str(event["object_type"]), "object_id": int(event["object_id"]), "aspect_type": str(event["aspect_type"]),
            "event_time": int(event["event_time"]), "updates": json.dumps(event.get("updates") or {}, sort_keys=True),
        }
        owner, subscription = int(event["owner_id"]), int(event["subscription_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if key["object_type"] not in OBJECT_TYPES or key["aspect_type"] not in ASPECT_TYPES or not isinstance(event.get("updates") or {}, dict):
        return None
    return key, owner, subscription


def receive(engine: Engine, event: Any, max_pending: int = DEFAULT_MAX_PENDING) -> tuple[int, dict[str, Any], bool]:
    """Validate and maybe store one event: (status, body, stored). No API calls here.

    Every well-formed event gets (200, ACK); ``stored`` is for the caller only
    (to wake the sync) and never reaches the sender. Not stored: another
    subscription or an unknown athlete, a redelivery, a create of an activity
    already stored or already waiting, an athlete event other than a
    deauthorization (one waiting is enough), or an activity event once
    ``max_pending`` events wait for the sync (the sync's listing still finds
    new runs; a deauthorization is never crowded out).
    """
    parsed = _parse(event)
    if parsed is None:
        return 400, {"error": "not a Strava event"}, False
    key, owner, subscription = parsed
    with engine.begin() as conn:
        ours = conn.execute(select(strava_subscription.c.subscription_id).where(strava_subscription.c.id == 1)).scalar()
        source_id = conn.execute(select(strava_tokens.c.source_id).where(strava_tokens.c.strava_athlete_id == owner)).scalar()
        if ours is None or int(ours) != subscription or source_id is None:
            return 200, ACK, False
        waiting = strava_events.c.processed_ts.is_(None)
        if conn.execute(select(exists().where(*[strava_events.c[k] == v for k, v in key.items()]))).scalar():
            return 200, ACK, False
        if key["object_type"] == "activity" and key["aspect_type"] == "create":
            row = records.get(conn, key["object_id"])
            queued = conn.execute(select(exists().where(waiting, strava_events.c.object_id == key["object_id"],
                                                        strava_events.c.object_type == "activity", strava_events.c.aspect_type == "create"))).scalar()
            if queued or (row is not None and row.state in records.DONE):
                return 200, ACK, False
        if key["object_type"] == "athlete":
            # Only a deauthorization means anything, and one waiting is enough: the sync asks Strava once.
            if key["updates"] != DEAUTHORIZED or conn.execute(select(exists().where(
                    waiting, strava_events.c.source_id == source_id, strava_events.c.object_type == "athlete"))).scalar():
                return 200, ACK, False
        else:
            pending = conn.execute(select(func.count()).select_from(strava_events).where(waiting, strava_events.c.source_id == source_id)).scalar()
            if int(pending or 0) >= max_pending:
                return 200, ACK, False
        try:
            with conn.begin_nested():
                conn.execute(insert(strava_events).values(source_id=int(source_id), received_ts=time.time(), **key))
        except IntegrityError:  # a concurrent redelivery won the race
            return 200, ACK, False
    return 200, ACK, True
