"""What every HTTP source shares: encrypted credentials with a cached token,
waiting on ``Retry-After`` (or pausing), and the "already present" matcher.

With these a new connector is a client in ``ingest/`` plus a small module here.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, insert, select, update

from heavylegs.settings_views import StoreKey
from heavylegs.sources.crypto import decrypt, encrypt
from heavylegs.sources.tables import source_credentials
from heavylegs.store.matching import MatchRules, find_match
from heavylegs.store.tables import activity_sources

T = TypeVar("T")


# ---- credentials -------------------------------------------------------
def save_secret(conn: Connection, key: StoreKey, source_id: int, secret: str) -> None:
    """Store (or replace) the source's long-lived secret; a new secret drops the cached token."""
    values = {"secret_enc": encrypt(key, secret.encode()), "token_enc": None, "token_expires_at": None, "token_issued_at": None,
              "updated_ts": time.time()}
    done = conn.execute(update(source_credentials).where(source_credentials.c.source_id == source_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(source_credentials).values(source_id=source_id, **values))


def load_secret(engine: Engine, key: StoreKey, source_id: int) -> str | None:
    with engine.connect() as conn:
        blob = conn.execute(select(source_credentials.c.secret_enc).where(source_credentials.c.source_id == source_id)).scalar()
    return None if blob is None else decrypt(key, blob).decode()


@dataclass(frozen=True)
class CachedToken:
    value: str
    expires_at: float
    issued_at: float


def load_token(engine: Engine, key: StoreKey, source_id: int) -> CachedToken | None:
    with engine.connect() as conn:
        row = conn.execute(select(source_credentials).where(source_credentials.c.source_id == source_id)).first()
    if row is None or row.token_enc is None or row.token_expires_at is None:
        return None
    return CachedToken(decrypt(key, row.token_enc).decode(), float(row.token_expires_at), float(row.token_issued_at or 0.0))


def save_token(engine: Engine, key: StoreKey, source_id: int, token: CachedToken) -> None:
    """Cache a token for every process (the service and one-off commands share it)."""
    with engine.begin() as conn:
        conn.execute(update(source_credentials).where(source_credentials.c.source_id == source_id).values(
            token_enc=encrypt(key, token.value.encode()), token_expires_at=token.expires_at, token_issued_at=token.issued_at,
            updated_ts=time.time()))


def last_request(engine: Engine, source_id: int) -> float | None:
    with engine.connect() as conn:
        value = conn.execute(select(source_credentials.c.last_request_ts).where(source_credentials.c.source_id == source_id)).scalar()
    return None if value is None else float(value)


def save_last_request(engine: Engine, source_id: int, ts: float) -> None:
    """When this process last called the API, so the next one keeps the pace (the service and a CLI backfill)."""
    with engine.begin() as conn:
        conn.execute(update(source_credentials).where(source_credentials.c.source_id == source_id).values(last_request_ts=ts))


def forget_credentials(engine: Engine, source_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(source_credentials).where(source_credentials.c.source_id == source_id))


# ---- waiting on a rate limit ---------------------------------------------
class Paused(Exception):
    """The server asked us to wait and the caller would rather stop: resume after ``resume_at``."""

    def __init__(self, resume_at: float) -> None:
        super().__init__(f"paused until {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(resume_at))} UTC")
        self.resume_at = resume_at


class Stopped(Exception):
    """The stop signal was set while waiting."""


class Waiter:
    """Calls a client method; a rate-limit error (anything with ``resume_at``) is waited out or turned into ``Paused``.

    ``wait=False`` pauses at once (``backfill --no-wait``); ``max_wait_s`` pauses when
    the server asks for longer (the service's sync waits briefly, then leaves the
    rest to its next run). Waiting wakes up early when ``stop`` is set.
    """

    def __init__(self, *, wait: bool = True, max_wait_s: float | None = None, stop: threading.Event | None = None,
                 on_wait: Callable[[float], None] | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] | None = None, margin_s: float = 0.0,
                 rate_limited: tuple[type[BaseException], ...] = ()) -> None:
        self.wait, self.max_wait_s, self.stop, self.on_wait, self.clock = wait, max_wait_s, stop, on_wait, clock
        self.sleep = sleep  # a test clock's sleep; None: real time, interrupted by ``stop``
        self.margin_s = margin_s  # wait this much past resume_at (a window reset is not instant everywhere)
        self.rate_limited = rate_limited
        self.waited_s = 0.0

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        while True:
            try:
                return fn(*args, **kwargs)
            except self.rate_limited as exc:
                limited: Any = exc  # every class in rate_limited carries resume_at (epoch seconds)
                resume_at = float(limited.resume_at)
                delay = resume_at - self.clock()
                if not self.wait or (self.max_wait_s is not None and delay > self.max_wait_s):
                    raise Paused(resume_at) from exc
                if self.on_wait is not None:
                    self.on_wait(resume_at)  # may itself wait (a countdown): sleep only what is left
                self._sleep(max(0.0, resume_at - self.clock()) + self.margin_s)

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.waited_s += seconds
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.stop is None:
            time.sleep(seconds)
        elif self.stop.wait(seconds):
            raise Stopped()


# ---- already present ------------------------------------------------------
def linked_activity(conn: Connection, kind: str, ref: str) -> int | None:
    """The stored activity that already carries this source ref, if any."""
    found = conn.execute(select(activity_sources.c.activity_id).where(activity_sources.c.kind == kind, activity_sources.c.ref == ref)).first()
    return None if found is None else int(found[0])


def already_present(conn: Connection, athlete_id: int, *, start_ts: float | None, durations_s: list[float], distance_m: float | None,
                    rules: MatchRules, kind: str, ref: str, fmt: str) -> int | None:
    """The stored activity a list summary describes, without downloading anything.

    First by the source's own id (an earlier sync or backfill), then by start
    time and duration (and distance when both have it) through the store's
    dedup rules, trying each duration the summary gives: lists report elapsed,
    timer or moving time depending on the service, and a file stores elapsed.
    """
    owner = linked_activity(conn, kind, ref)
    if owner is not None or start_ts is None:
        return owner
    for duration in durations_s:
        match = find_match(conn, athlete_id, {"start_ts": start_ts, "elapsed_s": duration, "distance_m": distance_m, "format": fmt}, rules)
        if match is not None:
            return int(match.id)
    return None
