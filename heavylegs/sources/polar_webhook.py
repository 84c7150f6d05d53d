"""Polar's push notifications: create the webhook, recognise its URL, verify and handle a delivery.

Polar webhooks belong to the API client. ``subscribe`` makes a random secret
path, records it *before* asking Polar (Polar sends its PING while the
webhook is being created), then keeps the ``signature_secret_key`` Polar
returns once, Fernet-encrypted. Each delivery is verified -- the hex
HMAC-SHA256 of the raw body in ``Polar-Webhook-Signature``, compared in
constant time -- before its body is parsed. An EXERCISE event fetches that
exercise at once; polling stays the source of truth (Polar drops a webhook
after 7 days of failures, and a missed event is picked up by the next sync).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from heavylegs.sources.base import SourceEnv, SourceError
from heavylegs.sources.crypto import SecretKeyError, decrypt, encrypt
from heavylegs.sources.polar import import_exercise
from heavylegs.sources.polar_api import KIND, client_credentials, new_client
from heavylegs.sources.store import list_sources, source_config
from heavylegs.sources.tables import polar_webhooks
from ingest.polar.errors import PolarError

log = logging.getLogger("heavylegs.polar")
ROUTE_PREFIX = "/webhooks/polar/"


def _digest(path_secret: str) -> str:
    return hashlib.sha256(path_secret.encode()).hexdigest()


def subscribe(engine: Engine, env: SourceEnv, base_url: str) -> str:
    """Create the webhook; returns its full URL (which holds the secret path: shown once, never logged)."""
    client_id, secret = client_credentials(env)
    base = base_url.strip().rstrip("/")
    if base.endswith("/webhooks/polar"):
        base = base[: -len("/webhooks/polar")]
    if not base.startswith(("https://", "http://")):
        raise SourceError("--url must be the public http(s) URL of this service, such as https://legs.example.org")
    path_secret = secrets.token_urlsafe(24)
    url = f"{base}{ROUTE_PREFIX}{path_secret}"
    with engine.begin() as conn:
        row_id = int(conn.execute(insert(polar_webhooks).values(path_sha256=_digest(path_secret), url=base + ROUTE_PREFIX + "...",
                                                                created_ts=time.time())).inserted_primary_key[0])  # type: ignore[index]
    client = new_client(env)
    try:
        data = client.create_webhook(client_id, secret, url)
    except (PolarError, OSError) as exc:
        with engine.begin() as conn:
            conn.execute(delete(polar_webhooks).where(polar_webhooks.c.id == row_id))
        raise SourceError(f"Polar did not create the webhook: {exc} (Polar must reach {base}{ROUTE_PREFIX}... and get 200 for its PING)") from None
    finally:
        client.close()
    with engine.begin() as conn:
        conn.execute(update(polar_webhooks).where(polar_webhooks.c.id == row_id).values(
            webhook_id=str(data.get("id") or ""), signature_key_enc=encrypt(env.store_key, str(data["signature_secret_key"]).encode())))
    return url


def find(engine: Engine, path_secret: str) -> Any:
    """The webhook whose secret path this is (looked up by its SHA-256, so timing says nothing about it)."""
    with engine.connect() as conn:
        return conn.execute(select(polar_webhooks).where(polar_webhooks.c.path_sha256 == _digest(path_secret))).first()


def signature_ok(env: SourceEnv, hook: Any, raw: bytes, signature: str | None) -> bool:
    if hook is None or hook.signature_key_enc is None or not signature:
        return False
    try:
        key = decrypt(env.store_key, hook.signature_key_enc)
    except SecretKeyError:
        return False
    expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def looks_like_ping(event_header: str | None, raw: bytes) -> bool:
    """A PING (sent while the webhook is created, before we hold its key). Answering it does nothing."""
    return (event_header or "").strip().upper() == "PING" or (len(raw) < 1024 and b'"PING"' in raw)


def handle(engine: Engine, env: SourceEnv, payload: Any) -> dict[str, Any]:
    """A verified delivery: fetch an EXERCISE for the source of its user; never raises (polling catches up)."""
    if not isinstance(payload, dict):
        return {"ok": True, "ignored": "not an object"}
    event = str(payload.get("event") or "")
    if event == "PING":
        return {"ok": True, "event": "PING"}
    if event != "EXERCISE":
        return {"ok": True, "ignored": event[:40]}
    user_id, entity_id = str(payload.get("user_id") or ""), str(payload.get("entity_id") or "")
    if not entity_id or not entity_id.replace("-", "").replace("_", "").isalnum() or len(entity_id) > 128:
        return {"ok": True, "ignored": "no usable entity_id"}
    found = [s for s in list_sources(engine, enabled_only=True) if s.kind == KIND and str(source_config(s).get("polar_user_id")) == user_id]
    if not found:
        return {"ok": True, "ignored": "unknown user"}
    try:
        outcome = import_exercise(engine, env, found[0], entity_id)
    except Exception as exc:  # the next sync lists it anyway; Polar must still get its 200
        log.warning("Polar webhook: exercise could not be fetched now (%s); the next sync will", type(exc).__name__)
        outcome = "deferred"
    return {"ok": True, "event": "EXERCISE", "outcome": outcome}
