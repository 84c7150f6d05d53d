"""The application's webhook push subscription (one per Strava application)."""
from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from heavylegs.settings import Settings
from heavylegs.strava.api import bare_client, credentials
from heavylegs.strava.tables import strava_subscription


def subscribe(engine: Engine, settings: Settings, callback_url: str) -> int:
    """Create the subscription; Strava checks ``callback_url`` (our GET /webhooks/strava) meanwhile."""
    client_id, secret = credentials(settings)
    token = secrets.token_urlsafe(24)
    # The verify token must be readable by the service before Strava calls it back.
    with engine.begin() as conn:
        conn.execute(delete(strava_subscription))
        conn.execute(insert(strava_subscription).values(id=1, subscription_id=None, verify_token=token, callback_url=callback_url, created_ts=time.time()))
    client = bare_client(settings)
    try:
        created = client.create_subscription(client_id, secret, callback_url, token)
    finally:
        client.close()
    with engine.begin() as conn:
        conn.execute(update(strava_subscription).where(strava_subscription.c.id == 1).values(subscription_id=int(created["id"])))
    return int(created["id"])


def unsubscribe(engine: Engine, settings: Settings) -> int | None:
    """Delete our subscription on Strava and here; the id removed, or None."""
    client_id, secret = credentials(settings)
    with engine.connect() as conn:
        sid = conn.execute(select(strava_subscription.c.subscription_id).where(strava_subscription.c.id == 1)).scalar()
    client = bare_client(settings)
    try:
        if sid is None:
            found = client.list_subscriptions(client_id, secret)
            sid = int(found[0]["id"]) if found else None
        if sid is not None:
            client.delete_subscription(client_id, secret, int(sid))
    finally:
        client.close()
    with engine.begin() as conn:
        conn.execute(delete(strava_subscription))
    return None if sid is None else int(sid)


def status(engine: Engine, settings: Settings) -> dict[str, Any]:
    """What we stored and what Strava reports."""
    with engine.connect() as conn:
        row = conn.execute(select(strava_subscription)).first()
    local = None if row is None else {"subscription_id": row.subscription_id, "callback_url": row.callback_url, "created_ts": row.created_ts}
    client_id, secret = credentials(settings)
    client = bare_client(settings)
    try:
        remote = client.list_subscriptions(client_id, secret)
    finally:
        client.close()
    return {"local": local, "strava": remote}
