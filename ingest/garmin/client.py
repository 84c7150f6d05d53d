"""A small synchronous client for the Garmin Connect Personal API, on httpx.

The protocol follows Garmin's own ``garmin-connect-personal-api-python``: the
personal API key is exchanged for a short-lived JWT (``Authorization: ApiKey``),
the JWT authorises the activity list and the original-file download
(``Authorization: Bearer``). The limits are undocumented and tight, so this
client sends one request at a time, spaces requests by
``max_requests_per_minute`` and turns a 429 into ``RateLimited`` carrying the
server's ``Retry-After`` (the caller decides to wait or to pause). Only
transport errors and 5xx answers are retried here, with stamina's backoff.

The transport is the test seam: tests point ``api_url`` at a loopback fake.
Nothing here touches a database; the caller supplies the key and may persist
the token through ``on_token``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from ingest.garmin.token import BadToken, Token, parse_token_body

TOKEN_PATH = "/personalapitoken-service/personal-api/personal-api-key/token"
LIST_PATH = "/activitylist-service/activities/search/activities"
DOWNLOAD_PATH = "/download-service/files/activity/{activity_id}"
DEFAULT_API_URL = "https://personal.connectapi.garmin.com"
REUSE_MARGIN_S = 3600.0  # a token is renewed this long before its exp claim
DEFAULT_RETRY_AFTER_S = 60.0  # a 429 without a usable Retry-After


class GarminError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KeyRejected(GarminError):
    """401/403 on the key exchange: the key expired, was revoked or was never valid."""


class Unauthorized(GarminError):
    """401 on an API call even with a freshly exchanged token."""


class NotFound(GarminError):
    """404: e.g. an activity deleted since it was listed."""


class RateLimited(GarminError):
    """429: ``resume_at`` (unix seconds) is when ``Retry-After`` allows the next request."""

    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(message, 429)
        self.resume_at = resume_at


class _Transient(Exception):
    """A 5xx answer: worth a retry after a backoff."""


def retry_after_s(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S


class Pacer:
    """One request at a time, at least ``60 / per_minute`` seconds apart, never before ``not_before``."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval_s = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.last: float | None = None
        self.not_before = 0.0

    def wait_turn(self) -> None:
        """Called with ``lock`` held, just before a request goes out."""
        due = max(self.not_before, (self.last + self.interval_s) if self.last is not None else 0.0)
        delay = due - self.clock()
        if delay > 0:
            self.sleep(delay)
        self.last = self.clock()


@dataclass
class Page:
    items: list[dict[str, Any]]
    short: bool  # fewer items than asked for: the listing is complete


class GarminClient:
    def __init__(
        self,
        api_url: str,
        api_key: Callable[[], str],
        *,
        max_requests_per_minute: float = 20.0,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        token: Token | None = None,
        on_token: Callable[[Token], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 3,
        on_close: Callable[[GarminClient], None] | None = None,
        last_request: float | None = None,
    ) -> None:
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.api_key = api_key  # a callable, so the key is decrypted only when an exchange needs it
        self.token = token
        self.on_token = on_token
        self.clock = clock
        self.pacer = Pacer(max_requests_per_minute, clock, sleep)
        self.pacer.last = last_request  # an earlier process's last request still counts for the pace
        self.on_close = on_close
        self._token_lock = threading.RLock()
        self.retries = max(1, retries)
        self.requests = 0  # requests actually sent, retries and exchanges included
        self.exchanges = 0
        self.http = httpx.Client(timeout=timeout_s, transport=transport, headers={"User-Agent": "heavylegs"})

    def close(self) -> None:
        self.http.close()
        if self.on_close is not None and self.requests:
            self.on_close(self)

    def __enter__(self) -> GarminClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- transport -----------------------------------------------------
    def _send(self, method: str, path: str, headers: dict[str, str], params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self._send_retrying(method, path, headers, params)
        except httpx.TransportError as exc:
            raise GarminError(f"cannot reach Garmin at {self.api_url}: {type(exc).__name__}") from exc

    def _send_retrying(self, method: str, path: str, headers: dict[str, str], params: dict[str, Any] | None) -> httpx.Response:
        for attempt in stamina.retry_context(on=(httpx.TransportError, _Transient), attempts=self.retries, wait_initial=0.5, wait_max=10.0):
            with attempt:
                with self.pacer.lock:
                    self.pacer.wait_turn()
                    self.requests += 1
                    resp = self.http.request(method, self.api_url + path, headers=headers, params=params)
                    if resp.status_code == 429:
                        wait_s = retry_after_s(resp.headers.get("Retry-After"))
                        resume_at = self.clock() + wait_s
                        self.pacer.not_before = max(self.pacer.not_before, resume_at)
                        raise RateLimited(f"Garmin rate limit: retry after {wait_s:.0f} s", resume_at)
                if resp.status_code >= 500:
                    raise _Transient(f"{resp.status_code} from Garmin")
                return resp
        raise AssertionError("unreachable")  # pragma: no cover - stamina re-raises the last error

    # ---- token ---------------------------------------------------------
    def exchange(self) -> Token:
        """Trade the personal API key for a JWT; ``KeyRejected`` on 401/403."""
        try:
            resp = self._send("POST", TOKEN_PATH, {"Authorization": f"ApiKey {self.api_key()}", "Accept": "*/*"})
        except _Transient as exc:
            raise GarminError(f"token exchange failed: {exc}") from exc
        self.exchanges += 1
        if resp.status_code in (401, 403):
            raise KeyRejected(f"Garmin refused the API key ({resp.status_code}): it expired, was revoked or is mistyped", resp.status_code)
        if resp.status_code != 200:
            raise GarminError(f"token exchange failed: HTTP {resp.status_code}", resp.status_code)
        try:
            token = parse_token_body(resp.text, self.clock())
        except BadToken as exc:
            raise GarminError(f"token exchange: {exc}", resp.status_code) from exc
        self.token = token
        if self.on_token is not None:
            self.on_token(token)
        return token

    def bearer(self) -> str:
        with self._token_lock:  # threads sharing a client share one exchange
            if self.token is None or self.token.renew_at(REUSE_MARGIN_S) <= self.clock():
                self.exchange()
            assert self.token is not None
            return self.token.jwt

    def _authorized(self, path: str, accept: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """A bearer call; on 401 the key is exchanged once more and the call retried once."""
        try:
            resp = self._send("GET", path, {"Authorization": f"Bearer {self.bearer()}", "Accept": accept}, params)
            if resp.status_code == 401:
                self.exchange()
                resp = self._send("GET", path, {"Authorization": f"Bearer {self.bearer()}", "Accept": accept}, params)
                if resp.status_code == 401:
                    raise Unauthorized("Garmin refused a freshly exchanged token", 401)
        except _Transient as exc:
            raise GarminError(str(exc), 503) from exc
        if resp.status_code == 404:
            raise NotFound(f"not found: {path}", 404)
        if resp.status_code != 200:
            raise GarminError(f"HTTP {resp.status_code} from {path}: {resp.text[:200]}", resp.status_code)
        return resp

    # ---- data ----------------------------------------------------------
    def list_activities(self, start: int = 0, limit: int = 100, start_date: date | None = None, end_date: date | None = None) -> Page:
        """One page of activity summaries (newest first, as Garmin Connect lists them)."""
        params: dict[str, Any] = {"start": int(start), "limit": int(limit)}
        if start_date is not None:
            params["startDate"] = start_date.isoformat()
        if end_date is not None:
            params["endDate"] = end_date.isoformat()
        resp = self._authorized(LIST_PATH, "application/json", params)
        try:
            body = resp.json()
        except ValueError as exc:
            raise GarminError("the activity list is not JSON") from exc
        if isinstance(body, dict):  # defensively: a wrapped list
            body = body.get("activityList") or body.get("activities") or []
        if not isinstance(body, list):
            raise GarminError("the activity list is not a list")
        items = [x for x in body if isinstance(x, dict) and x.get("activityId") is not None]
        return Page(items, len(body) < limit)

    def download(self, activity_id: int | str) -> bytes:
        """The original file as Garmin stores it: a ZIP, usually with one .fit."""
        resp = self._authorized(DOWNLOAD_PATH.format(activity_id=int(activity_id)), "application/zip, application/octet-stream")
        return resp.content
