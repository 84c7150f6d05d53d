"""Connecting a Strava account: the OAuth authorization-code flow.

``begin`` records a random ``state``; ``complete`` (called by the CLI's
loopback callback server or by the service's /oauth/strava/callback) refuses
any redirect whose state is not pending or is over an hour old -- before any
code exchange -- checks the granted scope, exchanges the code and stores the
tokens and the source row in one transaction. The outcome is written on the pending row so a CLI
waiting on a busy port can learn it from the database.
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from heavylegs.sources.base import SourceEnv
from heavylegs.store.activities import get_or_create_athlete
from heavylegs.store.tables import sources
from heavylegs.strava.tables import strava_oauth_pending
from heavylegs.strava.tokens import bare_client, credentials, save_tokens
from ingest.strava.client import StravaError
from ingest.strava.oauth import authorize_url, missing_scope, redirect_uri

PENDING_TTL_S = 3600


@dataclass
class Outcome:
    ok: bool
    message: str
    source: str | None = None
    strava_athlete_id: int | None = None


def callback_uri(env: SourceEnv) -> str:
    return redirect_uri(env.strava.callback_port)


def begin(engine: Engine, env: SourceEnv, athlete: str, source_name: str = "strava") -> tuple[str, str]:
    """A fresh state and the URL to send the user's browser to."""
    client_id, _ = credentials(env)
    state = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(delete(strava_oauth_pending).where(strava_oauth_pending.c.created_ts < time.time() - PENDING_TTL_S))
        conn.execute(insert(strava_oauth_pending).values(state=state, athlete=athlete, source_name=source_name, created_ts=time.time()))
    return state, authorize_url(env.strava.oauth_url, client_id, callback_uri(env), state)


def _finish(engine: Engine, state: str, outcome: Outcome) -> Outcome:
    with engine.begin() as conn:
        conn.execute(update(strava_oauth_pending).where(strava_oauth_pending.c.state == state)
                     .values(outcome=json.dumps({"ok": outcome.ok, "message": outcome.message, "source": outcome.source})))
    return outcome


def complete(engine: Engine, env: SourceEnv, params: dict[str, str], now: float | None = None) -> Outcome:
    state = params.get("state") or ""
    with engine.connect() as conn:
        pending = conn.execute(select(strava_oauth_pending).where(strava_oauth_pending.c.state == state)).first()
    if pending is None or pending.outcome is not None:
        return Outcome(False, "state mismatch: this redirect does not belong to a pending connect (nothing was exchanged); run connect again")
    now = time.time() if now is None else now
    if now - float(pending.created_ts) > PENDING_TTL_S:
        # A state is good for an hour: an old authorize link (or a leaked redirect) must not connect anything.
        return _finish(engine, state, Outcome(False, "this connect attempt expired (its state is over an hour old); nothing was exchanged. "
                                                     "Run heavylegs connect strava again"))
    if params.get("error"):
        return _finish(engine, state, Outcome(False, f"Strava authorization was not granted ({params['error']})"))
    problem = missing_scope(params.get("scope"))
    if problem:
        return _finish(engine, state, Outcome(False, problem))
    client_id, secret = credentials(env)
    client = bare_client(env)
    try:
        tokens = client.exchange_code(client_id, secret, params.get("code") or "")
    except StravaError as exc:
        return _finish(engine, state, Outcome(False, f"code exchange failed: {exc}"))
    finally:
        client.close()
    athlete = tokens.get("athlete") or {}
    lookback = 86_400 * env.strava.initial_sync_days
    with engine.begin() as conn:
        athlete_id = get_or_create_athlete(conn, pending.athlete)
        row = conn.execute(select(sources).where(sources.c.name == pending.source_name)).first()
        if row is not None and row.kind != "strava":
            return _finish(engine, state, Outcome(False, f"a {row.kind} source is already named {pending.source_name!r}"))
        if row is None:
            source_id = int(conn.execute(insert(sources).values(
                athlete_id=athlete_id, name=pending.source_name, kind="strava", config_json="{}", enabled=True, status="ok",
                cursor=str(int(now) - lookback), created_ts=now,
            )).inserted_primary_key[0])  # type: ignore[index]
        else:
            source_id = int(row.id)
            conn.execute(update(sources).where(sources.c.id == source_id).values(enabled=True, status="ok", last_error=None))
        save_tokens(conn, env.store_key, source_id, tokens, scope=params.get("scope") or "")
    name = " ".join(p for p in (athlete.get("firstname"), athlete.get("lastname")) if p) or str(athlete.get("id", "?"))
    message = f"connected Strava athlete {name} as source {pending.source_name!r} for athlete {pending.athlete!r}"
    return _finish(engine, state, Outcome(True, message, pending.source_name, athlete.get("id")))


def outcome_of(engine: Engine, state: str) -> Outcome | None:
    with engine.connect() as conn:
        text = conn.execute(select(strava_oauth_pending.c.outcome).where(strava_oauth_pending.c.state == state)).scalar()
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    return Outcome(bool(data["ok"]), str(data["message"]), data.get("source"))
