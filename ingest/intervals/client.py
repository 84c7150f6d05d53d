"""A small synchronous client for the intervals.icu API, on httpx.

Authentication is HTTP Basic with the user name ``API_KEY`` and the personal
key as password. The activity list is by date (``oldest``/``newest``,
inclusive, local dates); the original file is the file as uploaded, usually
gzip-compressed. Activities that came from Strava are not served through the
API: the list shows them as stubs carrying ``_note`` and the file answers 422;
both surface as ``StravaOnly`` / ``is_strava_stub`` so the caller can count
them instead of failing.

Requests go one at a time, spaced by ``max_requests_per_minute``; a 429 becomes
``RateLimited`` carrying ``Retry-After`` (the caller waits or pauses); only
transport errors and 5xx answers are retried here (stamina). The transport is
the test seam: tests point ``api_url`` at a loopback fake.
"""
from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import stamina

from ingest.decode import sniff
from ingest.garmin.client import Pacer, retry_after_s

DEFAULT_API_URL = "https://intervals.icu"
LIST_PATH = "/api/v1/athlete/{athlete}/activities"
FILE_PATH = "/api/v1/activity/{activity_id}/file"


class IntervalsError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KeyRejected(IntervalsError):
    """401/403: the key is wrong or was revoked, or it does not reach this athlete."""


class NotFound(IntervalsError):
    pass


class StravaOnly(IntervalsError):
    """422 on a file: the activity came from Strava, whose terms keep it out of the API."""


class RateLimited(IntervalsError):
    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(message, 429)
        self.resume_at = resume_at


class _Transient(Exception):
    pass


def is_strava_stub(item: dict[str, Any]) -> bool:
    """A list entry that only says the activity exists (Strava-sourced): no file behind it."""
    return bool(item.get("_note")) or (str(item.get("source") or "").upper() == "STRAVA" and not item.get("type"))


def file_suffix(data: bytes) -> str:
    """A file name suffix for ``data``: sniffed (the original is "usually" gzip, so never trust a header).

    Only the first few KiB are inflated to look at the content; the importer
    decompresses the whole file itself, within its size and ratio limits.
    """
    if data[:4] == b"PK\x03\x04":
        return ".zip"  # an uploaded archive: the importer walks it
    gz = data[:2] == b"\x1f\x8b"
    head = data[:4096]
    if gz:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:65536], 4096)
        except zlib.error:
            head = b""
    fmt = sniff(head) or "fit"
    return f".{fmt}" + (".gz" if gz else "")


class IntervalsClient:
    def __init__(self, api_url: str, athlete_id: str, api_key: Callable[[], str], *, max_requests_per_minute: float = 60.0,
                 timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None, clock: Callable[[], float] | None = None,
                 retries: int = 3, last_request: float | None = None) -> None:
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.athlete_id = str(athlete_id).strip() or "0"
        self.api_key = api_key  # a callable: the key is decrypted only when a request needs it
        self.clock = clock or time.time
        self.pacer = Pacer(max_requests_per_minute, self.clock)
        self.pacer.last = last_request
        self.retries = max(1, retries)
        self.requests = 0
        self.http = httpx.Client(timeout=timeout_s, transport=transport, headers={"User-Agent": "heavylegs"})

    def close(self) -> None:
        self.http.close()

    def _send(self, path: str, params: dict[str, Any] | None = None, accept: str = "application/json") -> httpx.Response:
        try:
            for attempt in stamina.retry_context(on=(httpx.TransportError, _Transient), attempts=self.retries, wait_initial=0.5, wait_max=10.0):
                with attempt:
                    with self.pacer.lock:
                        self.pacer.wait_turn()
                        self.requests += 1
                        resp = self.http.get(self.api_url + path, params=params, auth=("API_KEY", self.api_key()), headers={"Accept": accept})
                        if resp.status_code == 429:
                            wait_s = retry_after_s(resp.headers.get("Retry-After"))
                            resume_at = self.clock() + wait_s
                            self.pacer.not_before = max(self.pacer.not_before, resume_at)
                            raise RateLimited(f"intervals.icu rate limit: retry after {wait_s:.0f} s", resume_at)
                    if resp.status_code >= 500:
                        raise _Transient(f"{resp.status_code} from intervals.icu")
                    return resp
        except httpx.TransportError as exc:
            raise IntervalsError(f"cannot reach intervals.icu at {self.api_url}: {type(exc).__name__}") from exc
        except _Transient as exc:
            raise IntervalsError(str(exc), 503) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, resp: httpx.Response, what: str) -> None:
        if resp.status_code in (401, 403):
            raise KeyRejected(f"intervals.icu refused the API key for athlete {self.athlete_id} ({resp.status_code})", resp.status_code)
        if resp.status_code == 404:
            raise NotFound(f"{what}: not found", 404)
        if resp.status_code == 422:
            raise StravaOnly(f"{what}: not available through the API (a Strava activity)", 422)
        if resp.status_code != 200:
            raise IntervalsError(f"{what}: HTTP {resp.status_code}", resp.status_code)

    def list_activities(self, oldest: date, newest: date) -> list[dict[str, Any]]:
        """Activities with a local start date in ``[oldest, newest]``, as intervals.icu lists them."""
        params = {"oldest": oldest.isoformat(), "newest": newest.isoformat()}
        resp = self._send(LIST_PATH.format(athlete=self.athlete_id), params)
        self._check(resp, "activity list")
        try:
            body = resp.json()
        except ValueError as exc:
            raise IntervalsError("the activity list is not JSON") from exc
        if not isinstance(body, list):
            raise IntervalsError("the activity list is not a list")
        return [x for x in body if isinstance(x, dict) and x.get("id") not in (None, "")]

    def download(self, activity_id: str) -> bytes:
        """The original file as uploaded (often gzip; see ``file_suffix``)."""
        resp = self._send(FILE_PATH.format(activity_id=activity_id), accept="*/*")
        self._check(resp, f"activity {activity_id}")
        return resp.content
