"""intervals.icu for a source: settings, list entries read defensively, a client with the stored key."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

from heavylegs.sources import remote_records as records
from heavylegs.sources.base import Progress, SourceEnv, SourceError
from heavylegs.sources.http import Waiter, last_request, load_secret, save_last_request
from heavylegs.sources.remote_records import Listed
from heavylegs.sources.store import source_config
from ingest.intervals.client import (
    IntervalsClient,
    IntervalsError,
    KeyRejected,
    NotFound,
    StravaOnly,
    file_suffix,
    is_strava_stub,
)

KIND = "intervals"
REAUTH_HINT = ("create a new API key in intervals.icu (Settings, Developer Settings) and run "
               "`heavylegs connect intervals --name {name} --athlete-id ID` again; the source keeps its activities")


@dataclass(frozen=True)
class IntervalsConfig:
    api_url: str
    lookback_days: int
    activity_types: list[str]
    max_requests_per_minute: float
    sync_max_wait_s: float
    request_timeout_s: float

    @classmethod
    def of(cls, env: SourceEnv) -> IntervalsConfig:
        c = env.intervals
        return cls(c.api_url, int(c.lookback_days), [str(t) for t in c.activity_types], float(c.max_requests_per_minute),
                   float(c.sync_max_wait_s), float(c.request_timeout_s))


def new_client(env: SourceEnv, athlete_id: str, key: Callable[[], str], last: float | None = None) -> IntervalsClient:
    cfg = IntervalsConfig.of(env)
    return IntervalsClient(cfg.api_url, athlete_id, key, max_requests_per_minute=cfg.max_requests_per_minute,
                           timeout_s=cfg.request_timeout_s, last_request=last)


def source_client(engine: Engine, env: SourceEnv, source: Any) -> IntervalsClient:
    source_id = int(source.id)

    def key() -> str:
        secret = load_secret(engine, env.store_key, source_id)
        if secret is None:
            raise SourceError(f"no intervals.icu key stored for {source.name!r}: " + REAUTH_HINT.format(name=source.name))
        return secret

    athlete_id = str(source_config(source).get("athlete_id") or "0")
    return new_client(env, athlete_id, key, last_request(engine, source_id))


def remember_pace(engine: Engine, source: Any, client: IntervalsClient) -> None:
    if client.pacer.last is not None:
        save_last_request(engine, int(source.id), client.pacer.last)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number > 0 else None


def start_ts(item: dict[str, Any]) -> float | None:
    """Unix seconds from ``start_date`` (UTC, ISO 8601); a local time alone cannot be placed."""
    text = item.get("start_date")
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def listed(item: dict[str, Any], types: list[str]) -> Listed:
    durations = [d for d in (_number(item.get("elapsed_time")), _number(item.get("moving_time"))) if d is not None]
    sport = str(item.get("type") or "")
    return Listed(str(item["id"]), start_ts(item), list(dict.fromkeys(durations)), _number(item.get("distance")), sport, item,
                  wanted=sport in types, strava=is_strava_stub(item))


def reauth_message(name: str, exc: Exception) -> str:
    return f"{exc}; " + REAUTH_HINT.format(name=name)


def download_all(engine: Engine, env: SourceEnv, source: Any, client: IntervalsClient, todo: list[records.Listed], spend: Waiter,
                 stop: threading.Event | None, on_progress: Progress | None = None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    def download(remote_id: str) -> tuple[bytes, str]:
        data = spend(client.download, remote_id)
        return data, file_suffix(data)

    return records.download_all(engine, env, source, KIND, todo, download, stop=stop, fatal=(KeyRejected,), gone=(NotFound,),
                                strava=(StravaOnly,), soft=(IntervalsError,), on_progress=on_progress, interval_s=client.pacer.interval_s)
