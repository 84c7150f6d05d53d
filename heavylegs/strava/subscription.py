"""The application's webhook push subscription (one per Strava application).

The callback URL Strava is given ends in a random path segment (the *path
secret*), generated here at each ``subscribe``: only Strava learns it, so a
forged event cannot even reach the receiver. The secret is stored as part of
``strava_subscription.callback_url`` (no extra column: a store made by an
earlier version keeps working, and its bare-path subscription simply has no
secret, so the receiver answers it 404 until ``subscribe`` runs again).
"""
from __future__ import annotations

import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, delete, insert, select, update

from heavylegs.sources.base import SourceEnv
from heavylegs.strava.tables import strava_subscription
from heavylegs.strava.tokens import bare_client, credentials

SECRET_BYTES = 32  # token_urlsafe(32): 43 characters, 256 bits
MIN_SECRET_CHARS = 32  # a shorter last segment (the old bare path's "strava") is never a secret
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]+")


def with_path_secret(callback_url: str, secret: str) -> str:
    """``callback_url`` with ``/<secret>`` appended (an older secret segment is replaced)."""
    parts = urlsplit(callback_url.strip())
    path = parts.path.rstrip("/")
    if path_secret(callback_url) is not None:  # the user passed a full URL from `strava status`
        path = path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/{secret}", parts.query, ""))


def path_secret(callback_url: str | None) -> str | None:
    """The secret segment of a stored callback URL, or None (no subscription, or an old bare path)."""
    if not callback_url:
        return None
    last = urlsplit(callback_url).path.rstrip("/").rpartition("/")[2]
    # A proxy may map any public path to ours, so only the segment's shape marks a secret.
    if len(last) < MIN_SECRET_CHARS or not SECRET_SHAPE.fullmatch(last):
        return None
    return last


def stored_secret(engine: Engine) -> str | None:
    with engine.connect() as conn:
        url = conn.execute(select(strava_subscription.c.callback_url).where(strava_subscription.c.id == 1)).scalar()
    return path_secret(url)


def secret_matches(engine: Engine, candidate: str) -> bool:
    """Whether ``candidate`` is the stored path secret (constant-time compare)."""
    secret = stored_secret(engine)
    return secret is not None and hmac.compare_digest(candidate.encode(), secret.encode())


def subscribe(engine: Engine, env: SourceEnv, callback_url: str) -> int:
    """Create the subscription for ``callback_url`` + a fresh path secret; returns Strava's id.

    ``callback_url`` is the public URL of this service's ``/webhooks/strava``
    (a proxy may expose it under another path; the secret is appended either way).
    Strava allows one subscription per application, so an existing one (e.g.
    one made by an earlier version at the bare path) is deleted first. Strava
    checks the new URL (our GET handshake) before it answers.
    """
    client_id, secret = credentials(env)
    token = secrets.token_urlsafe(24)
    full_url = with_path_secret(callback_url, secrets.token_urlsafe(SECRET_BYTES))
    client = bare_client(env)
    try:
        for existing in client.list_subscriptions(client_id, secret):
            client.delete_subscription(client_id, secret, int(existing["id"]))
        # The verify token and the secret path must be readable by the service before Strava calls it back.
        with engine.begin() as conn:
            conn.execute(delete(strava_subscription))
            conn.execute(insert(strava_subscription).values(id=1, subscription_id=None, verify_token=token, callback_url=full_url, created_ts=time.time()))
        created = client.create_subscription(client_id, secret, full_url, token)
    finally:
        client.close()
    with engine.begin() as conn:
        conn.execute(update(strava_subscription).where(strava_subscription.c.id == 1).values(subscription_id=int(created["id"])))
    return int(created["id"])


def unsubscribe(engine: Engine, env: SourceEnv) -> int | None:
    """Delete our subscription on Strava and here; the id removed, or None."""
    client_id, secret = credentials(env)
    with engine.connect() as conn:
        sid = conn.execute(select(strava_subscription.c.subscription_id).where(strava_subscription.c.id == 1)).scalar()
    client = bare_client(env)
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


def status(engine: Engine, env: SourceEnv) -> dict[str, Any]:
    """What we stored and what Strava reports."""
    with engine.connect() as conn:
        row = conn.execute(select(strava_subscription)).first()
    local = None if row is None else {"subscription_id": row.subscription_id, "callback_url": row.callback_url, "created_ts": row.created_ts,
                                      "secret_path": path_secret(row.callback_url) is not None}
    client_id, secret = credentials(env)
    client = bare_client(env)
    try:
        remote = client.list_subscriptions(client_id, secret)
    finally:
        client.close()
    return {"local": local, "strava": remote}
