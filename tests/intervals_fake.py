"""A strict fake of the intervals.icu API on loopback.

A real threaded HTTP server speaking what heavylegs uses:
- HTTP Basic auth with user name ``API_KEY`` and a known key as password (else
  401); the athlete in the path must be the key's (``i<digits>``) or ``0`` (else 403);
- ``GET /api/v1/athlete/{id}/activities?oldest=YYYY-MM-DD&newest=YYYY-MM-DD``
  (both required, inclusive, on the local start date): the athlete's activities,
  Strava-sourced ones as stubs with ``_note``;
- ``GET /api/v1/activity/{id}/file``: the original, gzip-compressed unless the
  activity was uploaded as plain; 422 for a Strava activity, 404 for an unknown one.
Requests that overlap or come closer than ``min_interval_s`` get 429 with
``Retry-After``; ``quota`` makes the n-th request onwards answer 429 until
``lift_quota``. Every request is recorded.
"""
from __future__ import annotations

import base64
import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOTE = "STRAVA activities are not available via the API"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    ts: float


@dataclass
class FakeActivity:
    activity_id: str
    start: datetime  # UTC
    elapsed_s: float
    distance_m: float
    data: bytes  # the original as uploaded (FIT, TCX or GPX)
    type: str = "Run"
    source: str = "GARMIN_CONNECT"
    gzip: bool = True
    utc_offset_h: int = 2
    stub: bool = True  # a STRAVA activity is listed as a stub; False: listed in full, only its file answers 422

    def entry(self) -> dict[str, Any]:
        local = self.start + timedelta(hours=self.utc_offset_h)
        if self.source == "STRAVA" and self.stub:
            return {"id": self.activity_id, "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%S"), "source": "STRAVA", "_note": NOTE}
        return {"id": self.activity_id, "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%S"),
                "start_date": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "type": self.type, "source": self.source,
                "distance": self.distance_m, "moving_time": int(self.elapsed_s * 0.97), "elapsed_time": int(self.elapsed_s), "name": "Run"}

    def local_day(self) -> date:
        return (self.start + timedelta(hours=self.utc_offset_h)).date()


@dataclass
class IntervalsFake:
    min_interval_s: float = 0.0
    retry_after_s: int = 1
    keys: dict[str, str] = field(default_factory=dict)  # key -> athlete id
    activities: dict[str, FakeActivity] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    quota: int | None = None
    download_delay_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _last: float = 0.0

    def add_key(self, key: str, athlete_id: str) -> None:
        self.keys[key] = athlete_id

    def revoke(self, key: str) -> None:
        self.keys.pop(key, None)

    def add(self, activity: FakeActivity) -> None:
        self.activities[activity.activity_id] = activity

    def lift_quota(self) -> None:
        self.quota = None

    def downloads(self) -> list[str]:
        return [c.path.split("/")[4] for c in self.calls if c.path.endswith("/file") and c.status == 200]

    def lists(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/activities")]

    def statuses(self) -> list[int]:
        return [c.status for c in self.calls]

    # ---- server --------------------------------------------------------
    def start(self) -> IntervalsFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _admit(self) -> str | None:
        with self._lock:
            now = time.monotonic()
            reason = None
            if self._in_flight > 0:
                reason = "overlap"
            elif self.min_interval_s and self._last and now - self._last < self.min_interval_s:
                reason = "too fast"
            elif self.quota is not None and len(self.calls) >= self.quota:
                reason = "quota"
            self._in_flight += 1
            self._last = now
            return reason

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        refused = self._admit()
        try:
            if refused is not None:
                status, body, headers = 429, json.dumps({"error": refused}).encode(), {"Retry-After": str(self.retry_after_s)}
            else:
                status, body, headers = self._route(h, method, parts.path, query)
        except Exception as exc:  # a bug in the fake shows as a 500, not a hang
            status, body, headers = 500, str(exc).encode(), {}
        finally:
            with self._lock:
                self._in_flight -= 1
                self.calls.append(Call(method, parts.path, query, status if "status" in locals() else 500, time.time()))
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _athlete(self, h: BaseHTTPRequestHandler) -> str | None:
        auth = h.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        return self.keys.get(key) if user == "API_KEY" else None

    def _route(self, h: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        owner = self._athlete(h)
        if owner is None:
            return 401, b'{"status":401,"error":"Unauthorized"}', {"Content-Type": "application/json"}
        if method != "GET":
            return 405, b"", {}
        parts = path.strip("/").split("/")
        if len(parts) == 5 and parts[:3] == ["api", "v1", "athlete"] and parts[4] == "activities":
            if parts[3] not in ("0", owner):
                return 403, b'{"error":"Access denied"}', {"Content-Type": "application/json"}
            try:
                lo, hi = date.fromisoformat(query["oldest"]), date.fromisoformat(query["newest"])
            except (KeyError, ValueError):
                return 400, b'{"error":"oldest and newest are required"}', {"Content-Type": "application/json"}
            items = sorted((a for a in self.activities.values() if lo <= a.local_day() <= hi), key=lambda a: a.start, reverse=True)
            return 200, json.dumps([a.entry() for a in items]).encode(), {"Content-Type": "application/json"}
        if len(parts) == 5 and parts[:3] == ["api", "v1", "activity"] and parts[4] == "file":
            act = self.activities.get(parts[3])
            if act is None:
                return 404, b'{"error":"Activity not found"}', {"Content-Type": "application/json"}
            if act.source == "STRAVA":
                return 422, json.dumps({"error": NOTE}).encode(), {"Content-Type": "application/json"}
            if self.download_delay_s:
                time.sleep(self.download_delay_s)
            data = gzip.compress(act.data) if act.gzip else act.data
            return 200, data, {"Content-Type": "application/octet-stream"}
        return 404, b"", {}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
