"""Strava OAuth tokens: encrypted at rest, refreshed before they expire.

A refresh rotates the refresh token, so the new pair is written in the
same transaction that read the old one, under a row lock: two processes
refreshing at once would otherwise spend the same refresh token twice and
the loser would look deauthorized. The clients that carry these tokens
(``source_client``, and ``bare_client`` for OAuth calls) are built here too.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from heavylegs.settings_views import StoreKey
from heavylegs.sources.base import SourceEnv
from heavylegs.sources.crypto import decrypt, encrypt
from heavylegs.store.tables import sources
from heavylegs.strava.tables import strava_tokens
from ingest.strava.budget import RateBudget
from ingest.strava.client import InvalidGrant, StravaClient

REFRESH_MARGIN_S = 300  # refresh this long before expiry so a request never carries a dying token


class NeedsReauth(Exception):
    """The user has to run ``heavylegs connect strava`` again."""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float
    strava_athlete_id: int
    scope: str


def save_tokens(conn: Connection, key: StoreKey, source_id: int, response: dict[str, Any], scope: str | None = None,
                strava_athlete_id: int | None = None) -> None:
    """Store a token endpoint response for ``source_id`` (insert or replace)."""
    secret = encrypt(key, json.dumps({"access_token": response["access_token"], "refresh_token": response["refresh_token"]}).encode())
    athlete = (response.get("athlete") or {}).get("id") or strava_athlete_id
    values: dict[str, Any] = {"tokens_enc": secret, "expires_at": float(response["expires_at"]), "updated_ts": time.time()}
    if scope is not None:
        values["scope"] = scope
    if athlete is not None:
        values["strava_athlete_id"] = int(athlete)
    done = conn.execute(update(strava_tokens).where(strava_tokens.c.source_id == source_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(strava_tokens).values(source_id=source_id, **{"scope": "", **values}))


def load_tokens(conn: Connection, key: StoreKey, source_id: int, for_update: bool = False) -> Tokens | None:
    query = select(strava_tokens).where(strava_tokens.c.source_id == source_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    secret = json.loads(decrypt(key, row.tokens_enc))
    return Tokens(secret["access_token"], secret["refresh_token"], float(row.expires_at), int(row.strava_athlete_id), row.scope or "")


def delete_tokens(conn: Connection, source_id: int) -> None:
    conn.execute(delete(strava_tokens).where(strava_tokens.c.source_id == source_id))


def mark_needs_reauth(engine: Engine, source_id: int, message: str) -> None:
    """Record on the source row that the user must connect again (the stalled-source alert reads it)."""
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(status="needs_reauth", last_error=message[:2000]))


class TokenManager:
    """Hands out a valid access token, refreshing (once) when it is about to expire."""

    def __init__(self, engine: Engine, env: SourceEnv, source_id: int, client: StravaClient, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.env, self.source_id, self.client, self.clock = engine, env, source_id, client, clock
        self._cached: Tokens | None = None
        self.refreshes = 0

    def _fresh(self, tokens: Tokens | None) -> bool:
        return tokens is not None and tokens.expires_at - REFRESH_MARGIN_S > self.clock()

    def access_token(self) -> str:
        if self._fresh(self._cached):
            assert self._cached is not None
            return self._cached.access_token
        client_id = str(self.env.strava.client_id or "")
        secret = self.env.secrets.read(self.env.strava, "client_secret")
        with self.engine.begin() as conn:
            tokens = load_tokens(conn, self.env.store_key, self.source_id, for_update=True)
            if tokens is None:
                raise NeedsReauth("Strava is not connected (no tokens stored): run heavylegs connect strava")
            if not self._fresh(tokens):  # another process may have refreshed meanwhile
                try:
                    response = self.client.refresh(client_id, secret, tokens.refresh_token)
                except InvalidGrant as exc:
                    raise NeedsReauth(f"{exc}; run heavylegs connect strava again") from exc
                save_tokens(conn, self.env.store_key, self.source_id, response)
                tokens = Tokens(response["access_token"], response["refresh_token"], float(response["expires_at"]), tokens.strava_athlete_id, tokens.scope)
                self.refreshes += 1
        self._cached = tokens
        return tokens.access_token


class NotConfigured(Exception):
    pass


def credentials(env: SourceEnv) -> tuple[str, str]:
    client_id = str(env.strava.client_id or "").strip()
    secret = env.secrets.read(env.strava, "client_secret")
    if not client_id or not secret:
        raise NotConfigured(
            "Strava is not configured: set strava.client_id and strava.client_secret (or client_secret_file) "
            "from https://www.strava.com/settings/api"
        )
    return client_id, secret


def make_budget(env: SourceEnv, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> RateBudget:
    return RateBudget(reserve=env.strava.reserve_fraction, clock=clock, sleep=sleep)


def bare_client(env: SourceEnv, budget: RateBudget | None = None) -> StravaClient:
    """A client without a user token: OAuth calls and push subscriptions."""
    return StravaClient(
        env.strava.api_url, env.strava.oauth_url, budget or make_budget(env),
        timeout_s=env.strava.request_timeout_s,
    )


def source_client(
    engine: Engine, env: SourceEnv, source_id: int, *, budget: RateBudget | None = None, use_reserve: bool = True,
    clock: Callable[[], float] = time.time,
) -> tuple[StravaClient, TokenManager]:
    """A client that authenticates as the source's athlete, refreshing tokens as needed."""
    client = bare_client(env, budget)
    client.use_reserve = use_reserve
    manager = TokenManager(engine, env, source_id, client, clock=clock)
    client.token = manager.access_token
    return client, manager
