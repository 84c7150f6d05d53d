"""A Garmin client for a source: the decrypted key on demand and the token cached in the store."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from heavylegs.sources.base import SourceEnv, SourceError
from heavylegs.sources.http import CachedToken, last_request, load_secret, load_token, save_last_request, save_token
from ingest.garmin.client import GarminClient
from ingest.garmin.token import Token

REAUTH_HINT = ("create a new personal API key in Garmin Connect (web: Account Settings, Personal API) "
               "and run `heavylegs connect garmin --name {name}` again; the source keeps its activities")


@dataclass(frozen=True)
class GarminConfig:
    api_url: str
    lookback_days: int
    activity_types: list[str]
    max_requests_per_minute: float
    sync_max_wait_s: float
    page_size: int
    request_timeout_s: float

    @classmethod
    def of(cls, env: SourceEnv) -> GarminConfig:
        g = env.garmin
        return cls(g.api_url, int(g.lookback_days), [str(t) for t in g.activity_types], float(g.max_requests_per_minute),
                   float(g.sync_max_wait_s), max(1, int(g.page_size)), float(g.request_timeout_s))


def new_client(env: SourceEnv, api_key: Callable[[], str], **kw: Any) -> GarminClient:
    cfg = GarminConfig.of(env)
    return GarminClient(cfg.api_url, api_key, max_requests_per_minute=cfg.max_requests_per_minute, timeout_s=cfg.request_timeout_s, **kw)


def source_client(engine: Engine, env: SourceEnv, source: Any, clock: Callable[[], float] = time.time) -> GarminClient:
    """A client for a connected source; every process shares the cached token until it nears expiry."""
    source_id = int(source.id)

    def key() -> str:
        secret = load_secret(engine, env.store_key, source_id)
        if secret is None:
            raise SourceError(f"no Garmin key stored for {source.name!r}: " + REAUTH_HINT.format(name=source.name))
        return secret

    cached = load_token(engine, env.store_key, source_id)
    token = None if cached is None else Token(cached.value, cached.expires_at, cached.issued_at)

    def remember(new: Token) -> None:
        save_token(engine, env.store_key, source_id, CachedToken(new.jwt, new.expires_at, new.issued_at))

    def closed(client: GarminClient) -> None:
        if client.pacer.last is not None:
            save_last_request(engine, source_id, client.pacer.last)

    return new_client(env, key, token=token, on_token=remember, clock=clock, on_close=closed,
                      last_request=last_request(engine, source_id))


def parse_day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
