"""A strict fake of the Garmin Connect Personal API on loopback.

A real threaded HTTP server (``http.server``) speaking the protocol of Garmin's
``garmin-connect-personal-api-python``:
- ``POST /personalapitoken-service/personal-api/personal-api-key/token`` with
  ``Authorization: ApiKey <key>`` answers a bare JWT (or quoted, or JSON, when
  told) whose ``exp`` claim is ``token_ttl_s`` ahead; an unknown or revoked key
  gets 401, a key past its expiry 403;
- ``GET /activitylist-service/activities/search/activities?start&limit[&startDate&endDate]``
  with ``Authorization: Bearer <jwt>``: summaries newest first, ``limit`` at
  most 100, dates inclusive (YYYY-MM-DD, UTC);
- ``GET /download-service/files/activity/{id}``: a ZIP holding the activity's FIT.
Any bearer call with an unknown, expired or revoked token gets 401. Requests
that overlap, or come closer together than ``min_interval_s``, get 429 with
``Retry-After: retry_after_s`` (and still count); ``quota`` makes the n-th
request onwards answer 429 until ``lift_quota``; ``fail_next`` answers 503s. Every request is recorded.
"""
from __future__ import annotations

import base64
import hmac
import io
import json
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_PATH = "/personalapitoken-service/personal-api/personal-api-key/token"
LIST_PATH = "/activitylist-service/activities/search/activities"
DOWNLOAD_PREFIX = "/download-service/files/activity/"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    ts: float


@dataclass
class FakeActivity:
    activity_id: int
    start_ts: float
    duration_s: float
    distance_m: float
    type_key: str
    fit: bytes
    name: str = "Run"

    def summary(self) -> dict[str, Any]:
        start = datetime.fromtimestamp(self.start_ts, timezone.utc)
        return {
            "activityId": self.activity_id, "activityName": self.name,
            "activityType": {"typeKey": self.type_key, "typeId": 1},
            "startTimeGMT": start.strftime("%Y-%m-%d %H:%M:%S"), "beginTimestamp": int(self.start_ts * 1000),
            "duration": self.duration_s, "elapsedDuration": self.duration_s, "distance": self.distance_m,
        }


@dataclass
class GarminFake:
    token_ttl_s: float = 86_400.0
    min_interval_s: float = 0.0
    retry_after_s: int = 1
    token_style: str = "bare"  # bare | quoted | json
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[int, FakeActivity] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    quota: int | None = None  # from this many requests on, every request gets 429
    download_delay_s: float = 0.0
    fail_next: int = 0  # the next n requests answer 503 (a passing outage)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # jwt -> (key, exp)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _last: float = 0.0
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    # ---- setup ---------------------------------------------------------
    def add_key(self, key: str, expires_at: float | None = None) -> None:
        self.keys[key] = {"revoked": False, "expires_at": expires_at}

    def revoke(self, key: str) -> None:
        self.keys[key]["revoked"] = True

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if a day passed)."""
        with self._lock:
            self._tokens = {jwt: (key, 0.0) for jwt, (key, _) in self._tokens.items()}

    def add(self, activity: FakeActivity) -> None:
        self.activities[activity.activity_id] = activity

    def lift_quota(self) -> None:
        self.quota = None

    # ---- inspection ----------------------------------------------------
    def requests_to(self, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(prefix)]

    def downloads(self) -> list[int]:
        return [int(c.path[len(DOWNLOAD_PREFIX):]) for c in self.calls if c.path.startswith(DOWNLOAD_PREFIX) and c.status == 200]

    def statuses(self) -> list[int]:
        return [c.status for c in self.calls]

    # ---- server --------------------------------------------------------
    def start(self) -> GarminFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_GET(self) -> None:
                fake._serve(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _jwt(self, key: str) -> tuple[str, float]:
        exp = time.time() + self.token_ttl_s

        def b64(obj: Any) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        body = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'exp': int(exp), 'sub': 'personal', 'jti': secrets.token_hex(8)})}"
        sig = base64.urlsafe_b64encode(hmac.new(self._secret, body.encode(), "sha256").digest()).rstrip(b"=").decode()
        return f"{body}.{sig}", exp

    def _admit(self) -> str | None:
        """Why this request is refused with 429, if it is (one at a time, paced, quota)."""
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
            if refused is None and self.fail_next > 0:
                self.fail_next -= 1
                status, body, headers = 503, b"unavailable", {}
            elif refused is not None:
                status, body, headers = 429, json.dumps({"error": refused}).encode(), {"Retry-After": str(self.retry_after_s), "Content-Type": "application/json"}
            else:
                status, body, headers = self._route(h, method, parts.path, query)
        except Exception as exc:  # a bug in the fake must show as a 500, not a hang
            status, body, headers = 500, str(exc).encode(), {}
        finally:
            with self._lock:
                self._in_flight -= 1
                self.calls.append(Call(method, parts.path, query, 0, time.time()))
                call = self.calls[-1]
        call.status = status
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _bearer(self, h: BaseHTTPRequestHandler) -> bool:
        auth = h.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        with self._lock:
            found = self._tokens.get(auth[7:])
        if found is None:
            return False
        key, exp = found
        return time.time() < exp and not self.keys.get(key, {"revoked": True})["revoked"]

    def _route(self, h: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if path == TOKEN_PATH:
            if method != "POST":
                return 405, b"", {}
            auth = h.headers.get("Authorization") or ""
            key = auth[7:] if auth.startswith("ApiKey ") else None
            info = self.keys.get(key or "")
            if info is None or info["revoked"]:
                return 401, b'{"message":"invalid api key"}', {"Content-Type": "application/json"}
            if info["expires_at"] is not None and time.time() >= info["expires_at"]:
                return 403, b'{"message":"api key expired"}', {"Content-Type": "application/json"}
            jwt, exp = self._jwt(str(key))
            with self._lock:
                self._tokens[jwt] = (str(key), exp)
            text = {"bare": jwt, "quoted": json.dumps(jwt), "json": json.dumps({"token": jwt})}[self.token_style]
            return 200, text.encode(), {"Content-Type": "text/plain" if self.token_style == "bare" else "application/json"}
        if method != "GET":
            return 405, b"", {}
        if not self._bearer(h):
            return 401, b'{"message":"unauthorized"}', {"Content-Type": "application/json"}
        if path == LIST_PATH:
            return self._list(query)
        if path.startswith(DOWNLOAD_PREFIX):
            accept = h.headers.get("Accept") or ""
            if "application/zip" not in accept and "application/octet-stream" not in accept:
                return 406, b"", {}
            act = self.activities.get(int(path[len(DOWNLOAD_PREFIX):] or 0))
            if act is None:
                return 404, b"", {}
            if self.download_delay_s:
                time.sleep(self.download_delay_s)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(f"{act.activity_id}_ACTIVITY.fit", act.fit)
            return 200, buf.getvalue(), {"Content-Type": "application/zip"}
        return 404, b"", {}

    def _list(self, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        try:
            start, limit = int(query["start"]), int(query["limit"])
            lo = date.fromisoformat(query["startDate"]) if "startDate" in query else None
            hi = date.fromisoformat(query["endDate"]) if "endDate" in query else None
        except (KeyError, ValueError):
            return 400, b'{"message":"bad query"}', {"Content-Type": "application/json"}
        if start < 0 or not 1 <= limit <= 100:
            return 400, b'{"message":"limit must be 1..100"}', {"Content-Type": "application/json"}
        items = sorted(self.activities.values(), key=lambda a: -a.start_ts)
        day = lambda a: datetime.fromtimestamp(a.start_ts, timezone.utc).date()  # noqa: E731
        items = [a for a in items if (lo is None or day(a) >= lo) and (hi is None or day(a) <= hi)]
        page = [a.summary() for a in items[start:start + limit]]
        return 200, json.dumps(page).encode(), {"Content-Type": "application/json"}
