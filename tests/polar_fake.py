"""A strict fake of Polar AccessLink v3 (and its OAuth server) on loopback.

- ``GET /oauth2/authorization?response_type=code&client_id&redirect_uri&state``
  plays the user's consent: it redirects (302) to the registered redirect URI with
  a fresh ``code`` (single use, ``code_ttl_s`` = 10 minutes) and the ``state``;
- ``POST /v2/oauth2/token``: HTTP Basic ``client_id:client_secret``, form
  ``grant_type=authorization_code&code&redirect_uri``; answers
  ``{access_token, token_type, expires_in, x_user_id}``, no refresh token;
- ``POST /v3/users`` ``{"member-id"}``: 200 the first time, 409 after; 403 while
  the user has not accepted the consents (``consents_ok``);
- ``GET /v3/exercises``: exercises uploaded in the last 30 days; ``/v3/exercises/{id}``;
  ``/fit`` (404 when the exercise has none), ``/tcx`` (gzipped), ``/gpx``;
  data calls before registration or without consents get 403, a revoked token 401;
- ``POST /v3/webhooks`` (client Basic auth): PINGs the URL first (must get 200),
  then returns ``signature_secret_key`` once; ``deliver`` posts a signed EXERCISE event;
- every answer carries ``RateLimit-Usage/Limit/Reset`` for a short and a long
  window; over a limit is 429 until the window resets; ``force_429`` answers the
  next n requests 429. Every request is recorded.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

CLIENT_ID = "polar-client-id-123"
CLIENT_SECRET = "polar-client-secret-456"


@dataclass
class Call:
    method: str
    path: str
    status: int
    auth: str


@dataclass
class FakeExercise:
    exercise_id: str
    start: datetime  # UTC
    duration_s: float
    distance_m: float
    fit: bytes | None = None
    tcx: bytes | None = None
    gpx: bytes | None = None
    sport: str = "RUNNING"
    utc_offset_min: int = 120
    uploaded_days_ago: float = 1.0

    def entry(self, user_id: int) -> dict[str, Any]:
        local = self.start + timedelta(minutes=self.utc_offset_min)
        h, rest = divmod(int(self.duration_s), 3600)
        m, s = divmod(rest, 60)
        upload = datetime.now(timezone.utc) - timedelta(days=self.uploaded_days_ago)
        return {"id": self.exercise_id, "upload_time": upload.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "polar_user": f"https://www.polaraccesslink.com/v3/users/{user_id}",
                "device": "Polar Vantage V2", "device_id": "1111AAAA", "start_time": local.strftime("%Y-%m-%dT%H:%M:%S"),
                "start_time_utc_offset": self.utc_offset_min, "duration": f"PT{h}H{m}M{s}S", "distance": self.distance_m,
                "heart_rate": {"average": 142, "maximum": 171}, "sport": self.sport, "has_route": True,
                "detailed_sport_info": "RUNNING" if self.sport == "RUNNING" else "OTHER_OUTDOOR"}


@dataclass
class PolarFake:
    redirect_uri: str = ""
    code_ttl_s: float = 600.0
    limits: tuple[int, int] = (500, 20000)
    window_s: tuple[float, float] = (900.0, 86400.0)
    consents_ok: bool = True
    user_id: int = 87654321
    expires_in: int = 31535999  # about a year, as Polar says
    exercises: dict[str, FakeExercise] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    force_429: int = 0
    webhook: dict[str, Any] | None = None
    clock_offset_s: float = 0.0
    _codes: dict[str, tuple[float, str]] = field(default_factory=dict)  # code -> (issued, redirect_uri)
    _tokens: dict[str, bool] = field(default_factory=dict)  # token -> valid
    _registered: set[int] = field(default_factory=set)  # users registered with the client (not tokens)
    _usage: list[int] = field(default_factory=lambda: [0, 0])
    _window_start: list[float] = field(default_factory=lambda: [time.time(), time.time()])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- setup and inspection -------------------------------------------
    def add(self, ex: FakeExercise) -> None:
        self.exercises[ex.exercise_id] = ex

    def advance(self, seconds: float) -> None:
        self.clock_offset_s += seconds

    def revoke_all(self) -> None:
        self._tokens = {t: False for t in self._tokens}

    def paths(self, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(prefix)]

    def downloads(self) -> list[str]:
        return [c.path for c in self.calls if c.path.count("/") == 4 and c.path.startswith("/v3/exercises/") and c.status == 200]

    def statuses(self) -> list[int]:
        return [c.status for c in self.calls]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # ---- server ----------------------------------------------------------
    def start(self) -> PolarFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_DELETE(self) -> None:
                fake._serve(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _rate_headers(self) -> dict[str, str]:
        now = time.time()
        resets = []
        for i in range(2):
            if now - self._window_start[i] >= self.window_s[i]:
                self._window_start[i], self._usage[i] = now, 0
            resets.append(max(0, int(round(self._window_start[i] + self.window_s[i] - now))))
        return {"RateLimit-Usage": f"{self._usage[0]}, {self._usage[1]}", "RateLimit-Limit": f"{self.limits[0]}, {self.limits[1]}",
                "RateLimit-Reset": f"{resets[0]}, {resets[1]}"}

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self._rate_headers()  # roll the windows
            over = any(self._usage[i] >= self.limits[i] for i in range(2))
            forced = self.force_429 > 0
            self.force_429 -= forced
            if not over:
                self._usage = [u + 1 for u in self._usage]
            headers = self._rate_headers()
        try:
            if over or forced:
                status, out, extra = 429, b'{"error":"rate limit"}', dict[str, str]()
            else:
                status, out, extra = self._route(h, method, parts.path, parse_qs(parts.query), body)
        except Exception as exc:  # a bug in the fake shows as a 500
            status, out, extra = 500, str(exc).encode(), {}
        self.calls.append(Call(method, parts.path, status, (h.headers.get("Authorization") or "").split(" ")[0]))
        h.send_response(status)
        for k, v in {**headers, **extra}.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(out)))
        h.end_headers()
        h.wfile.write(out)

    def _basic_ok(self, h: BaseHTTPRequestHandler) -> bool:
        auth = h.headers.get("Authorization") or ""
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return hmac.compare_digest(auth, expected)

    def _bearer(self, h: BaseHTTPRequestHandler) -> str | None:
        auth = h.headers.get("Authorization") or ""
        return auth[7:] if auth.startswith("Bearer ") and self._tokens.get(auth[7:]) else None

    def _route(self, h: BaseHTTPRequestHandler, method: str, path: str, q: dict[str, list[str]], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        js = {"Content-Type": "application/json"}
        one = {k: v[-1] for k, v in q.items()}
        if path == "/oauth2/authorization" and method == "GET":
            if one.get("response_type") != "code" or one.get("client_id") != CLIENT_ID or one.get("redirect_uri") != self.redirect_uri or not one.get("state"):
                return 400, b'{"error":"invalid_request"}', js
            code = secrets.token_hex(8)
            self._codes[code] = (time.time() + self.clock_offset_s, one["redirect_uri"])
            return 302, b"", {"Location": f"{one['redirect_uri']}?{urlencode({'code': code, 'state': one['state']})}"}
        if path == "/v2/oauth2/token" and method == "POST":
            if not self._basic_ok(h):
                return 401, b'{"error":"invalid_client"}', js
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            issued = self._codes.pop(form.get("code", ""), None)  # single use, even when refused below
            if form.get("grant_type") != "authorization_code" or issued is None:
                return 400, b'{"error":"invalid_grant"}', js
            if time.time() + self.clock_offset_s - issued[0] > self.code_ttl_s or form.get("redirect_uri") != issued[1]:
                return 400, b'{"error":"invalid_grant","error_description":"code expired or redirect_uri mismatch"}', js
            new_token = secrets.token_hex(16)
            self._tokens[new_token] = True
            return 200, json.dumps({"access_token": new_token, "token_type": "bearer", "expires_in": self.expires_in, "x_user_id": self.user_id}).encode(), js
        if path == "/v3/webhooks" and method == "POST":
            return self._create_webhook(h, body)
        token = self._bearer(h)
        if token is None:
            return 401, b"", {}
        if path == "/v3/users" and method == "POST":
            member = json.loads(body or b"{}").get("member-id")
            if not member:
                return 400, b"", {}
            if not self.consents_ok:
                return 403, b'{"error":"user has not accepted mandatory consents"}', js
            if self.user_id in self._registered:
                return 409, b'{"error":"user already registered"}', js
            self._registered.add(self.user_id)
            return 200, json.dumps({"polar-user-id": self.user_id, "member-id": member}).encode(), js
        if path == f"/v3/users/{self.user_id}" and method == "DELETE":
            self._registered.discard(self.user_id)
            return 204, b"", {}
        if self.user_id not in self._registered or not self.consents_ok:
            return 403, b"", {}
        if path == "/v3/exercises" and method == "GET":
            recent = [e.entry(self.user_id) for e in self.exercises.values() if e.uploaded_days_ago <= 30]
            return (200, json.dumps(recent).encode(), js) if recent else (204, b"", {})
        parts = path.strip("/").split("/")
        if len(parts) in (3, 4) and parts[:2] == ["v3", "exercises"] and method == "GET":
            ex = self.exercises.get(parts[2])
            if ex is None or ex.uploaded_days_ago > 30:
                return 404, b"", {}
            if len(parts) == 3:
                return 200, json.dumps(ex.entry(self.user_id)).encode(), js
            data = {"fit": ex.fit, "tcx": gzip.compress(ex.tcx) if ex.tcx else None, "gpx": ex.gpx}.get(parts[3])
            return (200, data, {"Content-Type": "application/octet-stream"}) if data else (404, b"", {})
        return 404, b"", {}

    def _create_webhook(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        if not self._basic_ok(h):
            return 401, b"", {}
        req = json.loads(body or b"{}")
        if req.get("events") != ["EXERCISE"] or not str(req.get("url", "")).startswith("http"):
            return 400, b"", {}
        ping = json.dumps({"timestamp": datetime.now(timezone.utc).isoformat(), "event": "PING"}).encode()
        try:
            answer = httpx.post(req["url"], content=ping, headers={"Content-Type": "application/json", "Polar-Webhook-Event": "PING"}, timeout=5)
        except httpx.HTTPError:
            return 400, b'{"error":"url did not answer the PING"}', {}
        if answer.status_code != 200:
            return 400, b'{"error":"url did not answer the PING with 200"}', {}
        self.webhook = {"id": secrets.token_hex(4), "events": ["EXERCISE"], "url": req["url"], "signature_secret_key": secrets.token_hex(16)}
        return 201, json.dumps({"data": self.webhook}).encode(), {"Content-Type": "application/json"}

    def deliver(self, exercise_id: str, *, key: str | None = None, body: bytes | None = None) -> httpx.Response:
        """POST an EXERCISE event to the webhook, signed with its key (or ``key``)."""
        assert self.webhook is not None
        raw = body if body is not None else json.dumps({"event": "EXERCISE", "user_id": self.user_id, "entity_id": exercise_id,
                                                        "timestamp": datetime.now(timezone.utc).isoformat(),
                                                        "url": f"{self.url}/v3/exercises/{exercise_id}"}).encode()
        signature = hmac.new((key or self.webhook["signature_secret_key"]).encode(), raw, hashlib.sha256).hexdigest()
        return httpx.post(self.webhook["url"], content=raw, headers={"Content-Type": "application/json", "Polar-Webhook-Event": "EXERCISE",
                                                                     "Polar-Webhook-Signature": signature}, timeout=10)
