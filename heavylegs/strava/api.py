"""Building a Strava client for a source from the settings."""
from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from heavylegs.settings import Settings
from heavylegs.strava.tokens import TokenManager
from ingest.strava.budget import RateBudget
from ingest.strava.client import StravaClient


class NotConfigured(Exception):
    pass


def credentials(settings: Settings) -> tuple[str, str]:
    client_id = str(settings.cfg.strava.client_id or "").strip()
    secret = settings.secret(settings.cfg.strava, "client_secret")
    if not client_id or not secret:
        raise NotConfigured(
            "Strava is not configured: set strava.client_id and strava.client_secret (or client_secret_file) "
            "from https://www.strava.com/settings/api"
        )
    return client_id, secret


def make_budget(settings: Settings, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> RateBudget:
    return RateBudget(reserve=settings.cfg.strava.reserve_fraction, clock=clock, sleep=sleep)


def bare_client(settings: Settings, budget: RateBudget | None = None) -> StravaClient:
    """A client without a user token: OAuth calls and push subscriptions."""
    return StravaClient(
        settings.cfg.strava.api_url, settings.cfg.strava.oauth_url, budget or make_budget(settings),
        timeout_s=settings.cfg.strava.request_timeout_s,
    )


def source_client(
    engine: Engine, settings: Settings, source_id: int, *, budget: RateBudget | None = None, use_reserve: bool = True,
    clock: Callable[[], float] = time.time,
) -> tuple[StravaClient, TokenManager]:
    """A client that authenticates as the source's athlete, refreshing tokens as needed."""
    client = bare_client(settings, budget)
    client.use_reserve = use_reserve
    manager = TokenManager(engine, settings, source_id, client, clock=clock)
    client.token = manager.access_token
    return client, manager
