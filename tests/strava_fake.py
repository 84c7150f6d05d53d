"""A fake Strava on loopback, built from Strava's documented behaviour.

A real threaded HTTP server (``http.server``) serving ``/oauth/*`` and
``/api/v3/*``: authorize + code exchange, refresh with rotation (the old
refresh token stops working), 401 on expired or unknown access tokens,
paginated activity lists (ascending when ``after`` is given, as Strava does),
key_by_type streams, both rate-limit header pairs counted per window on an
injectable clock, 429 over the limit (such requests still count), push
subscription CRUD with the callback handshake (one subscription per
application), and event delivery. What the webhook checks rely on: a deleted
activity answers 404 (``remove``), an edited one returns its new values
(``edit``), and after a revocation (``revoke`` or ``/oauth/deauthorize``)
every token gets 401 and every refresh 400. ``GET /activities/{id}`` returns
any activity the fake holds, whatever its athlete, so the receiver's
ownership check is exercised. Every
request is recorded so tests can assert which calls were (not) made.
"""
from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

SHORT_S, DAY_S = 900, 86_400


class FakeClock:
    """Unix time that only moves when told to; shared by the fake and the code under test."""

    def __init__(self, start: float) -> None:
        self.t = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)

    sleep = advance


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    ts: float


@dataclass
class Window:
    limit: int
    usage: int = 0
    start: float = -1.0

    def roll(self, now: float, length: int) -> None:
        start = math.floor(now / length) * length
        if start != self.start:
            self.start, self.usage = start, 0


def synthetic_run(
    activity_id: int, start: datetime, *, duration_s: int = 1800, distance_m: float = 5400.0, samples: int = 60,
    sport_type: str = "Run", trainer: bool = False, name: str | None = None, athlete_id: int = 4242,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A SummaryActivity and its key_by_type streams (``samples`` points)."""
    start = start.astimezone(timezone.utc)
    summary = {
        "resource_state": 2, "athlete": {"id": athlete_id, "resource_state": 1}, "id": activity_id,
        "name": name or f"Run {activity_id}", "distance": distance_m, "moving_time": duration_s - 20,
        "elapsed_time": duration_s, "total_elevation_gain": 12.0, "type": "Run" if sport_type in ("Run", "TrailRun") else sport_type,
        "sport_type": sport_type, "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "(GMT+01:00) Europe/Paris", "utc_offset": 3600.0, "trainer": trainer, "manual": False,
        "private": False, "has_heartrate": True, "average_heartrate": 150.0, "max_heartrate": 165.0,
        "device_name": "Garmin Forerunner 255",
    }
    step = duration_s / (samples - 1)
    t = [round(i * step) for i in range(samples)]
    speed = distance_m / duration_s
    dist = [round(x * speed, 1) for x in t]
    data = {
        "time": t, "distance": dist,
        "latlng": [[48.85 + d / 111_195.0, 2.35] for d in dist],
        "altitude": [35.0 + (i % 7) for i in range(samples)],
        "velocity_smooth": [round(speed, 2)] * samples,
        "heartrate": [140 + (i % 20) for i in range(samples)],
        "cadence": [85] * samples, "moving": [True] * samples,
        "grade_smooth": [0.0] * samples, "temp": [18] * samples,
    }
    streams = {k: {"data": v, "series_type": "distance", "original_size": samples, "resolution": "high"} for k, v in data.items()}
    return summary, streams


@dataclass
class StravaFake:
    clock: Callable[[], float] = time.time
    client_id: str = "1234"
    client_secret: str = "fake-secret"
    athlete_id: int = 4242
    read_limits: tuple[int, int] = (100, 1000)
    overall_limits: tuple[int, int] = (200, 2000)
    token_lifetime_s: int = 21_600
    granted_scope: str | None = None  # None: grant what was asked for
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    streams: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    subscriptions: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[str, int]] = field(default_factory=list)  # (path regex, status) served once each
    tick_s: float = 0.0  # each API request moves a FakeClock on by this much (time passing during a sync)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.access: dict[str, float] = {}  # access token -> expires_at
        self.refresh: set[str] = set()
        self.codes: dict[str, str] = {}  # code -> granted scope
        self.windows = {
            ("read", SHORT_S): Window(self.read_limits[0]), ("read", DAY_S): Window(self.read_limits[1]),
            ("overall", SHORT_S): Window(self.overall_limits[0]), ("overall", DAY_S): Window(self.overall_limits[1]),
        }
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle --------------------------------------------------------
    def start(self) -> StravaFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v3"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth"

    # ---- test helpers -----------------------------------------------------
    def add(self, summary: dict[str, Any], streams: dict[str, Any] | None = None) -> None:
        with self.lock:
            self.activities[int(summary["id"])] = summary
            if streams is not None:
                self.streams[int(summary["id"])] = streams

    def remove(self, activity_id: int) -> None:
        """The athlete deletes an activity: from now on ``GET /activities/{id}`` answers 404."""
        with self.lock:
            self.activities.pop(int(activity_id), None)
            self.streams.pop(int(activity_id), None)

    def edit(self, activity_id: int, **fields: Any) -> None:
        """The athlete edits an activity (name, sport_type, type, private...): the API returns the new values."""
        with self.lock:
            self.activities[int(activity_id)].update(fields)

    def revoke(self) -> None:
        """The athlete revokes heavylegs in Strava's settings: every access and refresh token stops working
        (the API answers 401, the token endpoint 400), as after ``/oauth/deauthorize``."""
        with self.lock:
            self.access.clear()
            self.refresh.clear()

    def issue_tokens(self, expires_in: int | None = None, athlete: bool = True) -> dict[str, Any]:
        """A token response, as the token endpoint returns it (also used to seed a connection)."""
        with self.lock:
            access, refresh = secrets.token_hex(20), secrets.token_hex(20)
            lifetime = self.token_lifetime_s if expires_in is None else expires_in
            expires_at = int(self.clock()) + lifetime
            self.access[access] = expires_at
            self.refresh.add(refresh)
        body: dict[str, Any] = {"token_type": "Bearer", "access_token": access, "refresh_token": refresh, "expires_at": expires_at, "expires_in": lifetime}
        if athlete:
            body["athlete"] = {"id": self.athlete_id, "username": "runner", "firstname": "Fake", "lastname": "Runner", "resource_state": 2}
        return body

    def requests_to(self, pattern: str, method: str = "GET") -> list[Call]:
        rx = re.compile(pattern)
        with self.lock:
            return [c for c in self.calls if c.method == method and rx.search(c.path)]

    def stream_ids(self) -> list[int]:
        return [int(c.path.split("/")[-2]) for c in self.requests_to(r"^/api/v3/activities/\d+/streams$")]

    def statuses(self) -> list[int]:
        with self.lock:
            return [c.status for c in self.calls]

    def event(self, object_type: str, object_id: int, aspect_type: str, updates: dict[str, str] | None = None, owner_id: int | None = None,
              subscription_id: int | None = None, event_time: int | None = None) -> dict[str, Any]:
        sub = subscription_id if subscription_id is not None else (next(iter(self.subscriptions), 0))
        return {
            "aspect_type": aspect_type, "event_time": int(event_time if event_time is not None else self.clock()),
            "object_id": object_id, "object_type": object_type, "owner_id": owner_id if owner_id is not None else self.athlete_id,
            "subscription_id": sub, "updates": updates or {},
        }

    def deliver(self, event: dict[str, Any], callback_url: str | None = None) -> httpx.Response:
        """POST an event to the subscription's callback URL, as Strava does."""
        url = callback_url or next(iter(self.subscriptions.values()))["callback_url"]
        return httpx.post(url, json=event, timeout=5.0)

    # ---- request handling -------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()} if raw and "json" not in (req.headers.get("Content-Type") or "") else {}
        with self.lock:
            status, body, headers = self._route(method, parts.path, query, form, req.headers.get("Authorization", ""))
            self.calls.append(Call(method, parts.path, query, status, self.clock()))
        payload = b"" if body is None else json.dumps(body).encode()
        req.send_response(status)
        for key, value in headers.items():
            req.send_header(key, value)
        if status in (301, 302):
            payload = b""
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        req.wfile.write(payload)

    def _route(self, method: str, path: str, query: dict[str, str], form: dict[str, str], auth: str) -> tuple[int, Any, dict[str, str]]:
        for i, (rx, status) in enumerate(self.failures):
            if re.search(rx, path):
                del self.failures[i]
                return status, {"message": "Server Error"}, {}
        if path == "/oauth/authorize" and method == "GET":
            return self._authorize(query)
        if path == "/oauth/token" and method == "POST":
            return self._token(form)
        if path == "/oauth/deauthorize" and method == "POST":
            token = form.get("access_token") or query.get("access_token") or auth.removeprefix("Bearer ")
            if token not in self.access:
                return 401, {"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]}, {}
            self.access.clear()
            self.refresh.clear()
            return 200, {"access_token": token}, {}
        if path.startswith("/api/v3/"):
            return self._api(method, path[len("/api/v3"):], query, form, auth)
        return 404, {"message": "Record Not Found", "errors": []}, {}

    def _authorize(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, {"message": "Bad Request", "errors": [{"resource": "Application", "field": "client_id", "code": "invalid"}]}, {}
        code = secrets.token_hex(16)
        scope = self.granted_scope if self.granted_scope is not None else query.get("scope", "read")
        self.codes[code] = scope
        target = query["redirect_uri"] + "?" + urlencode({"state": query.get("state", ""), "code": code, "scope": scope})
        return 302, None, {"Location": target}

    def _token(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"message": "Bad Request", "errors": [{"resource": "Application", "field": "client_id", "code": "invalid"}]}, {}
        grant = form.get("grant_type")
        if grant == "authorization_code" and self.codes.pop(form.get("code", ""), None) is not None:
            return 200, self.issue_tokens(), {}
        if grant == "refresh_token" and form.get("refresh_token") in self.refresh:
            self.refresh.discard(form["refresh_token"])  # rotation: the old one is spent
            return 200, self.issue_tokens(athlete=False), {}
        field_name = "code" if grant == "authorization_code" else "refresh_token"
        resource = "AuthorizationCode" if grant == "authorization_code" else "RefreshToken"
        return 400, {"message": "Bad Request", "errors": [{"resource": resource, "field": field_name, "code": "invalid"}]}, {}

    def _count(self, read: bool) -> tuple[bool, dict[str, str]]:
        now = self.clock()
        over = False
        for (pair, length), win in self.windows.items():
            if pair == "read" and not read:
                continue
            win.roll(now, length)
            win.usage += 1  # requests over the limit still count
            over |= win.usage > win.limit
        headers = {}
        for pair, prefix in (("overall", "X-RateLimit"), ("read", "X-ReadRateLimit")):
            s, d = self.windows[(pair, SHORT_S)], self.windows[(pair, DAY_S)]
            s.roll(now, SHORT_S)
            d.roll(now, DAY_S)
            headers[f"{prefix}-Limit"] = f"{s.limit},{d.limit}"
            headers[f"{prefix}-Usage"] = f"{s.usage},{d.usage}"
        return over, headers

    def _api(self, method: str, path: str, query: dict[str, str], form: dict[str, str], auth: str) -> tuple[int, Any, dict[str, str]]:
        if self.tick_s and isinstance(self.clock, FakeClock):
            self.clock.advance(self.tick_s)
        over, headers = self._count(read=method == "GET")
        if over:
            return 429, {"message": "Rate Limit Exceeded", "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]}, headers
        if path.startswith("/push_subscriptions"):
            return (*self._subscriptions(method, path, query, form), headers)
        token = auth.removeprefix("Bearer ").strip()
        if self.access.get(token, 0) <= self.clock():
            return 401, {"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]}, headers
        if path == "/athlete":
            return 200, {"id": self.athlete_id, "username": "runner", "firstname": "Fake", "lastname": "Runner", "resource_state": 3}, headers
        if path == "/athlete/activities":
            return 200, self._list(query), headers
        found = re.fullmatch(r"/activities/(\d+)(/streams)?", path)
        if found and int(found.group(1)) in self.activities:
            aid = int(found.group(1))
            if found.group(2) is None:
                return 200, dict(self.activities[aid], resource_state=3), headers
            keys = query.get("keys", "time").split(",")
            return 200, {k: v for k, v in self.streams.get(aid, {}).items() if k in keys}, headers
        return 404, {"message": "Record Not Found", "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]}, headers

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        def start(a: dict[str, Any]) -> float:
            return datetime.fromisoformat(a["start_date"].replace("Z", "+00:00")).timestamp()

        # Only the authenticated athlete's own activities are listed.
        items = [a for a in self.activities.values() if int((a.get("athlete") or {}).get("id", self.athlete_id)) == self.athlete_id]
        if "after" in query:
            items = [a for a in items if start(a) > float(query["after"])]
        if "before" in query:
            items = [a for a in items if start(a) < float(query["before"])]
        items.sort(key=start, reverse="after" not in query)
        per_page = min(int(query.get("per_page", 30)), 200)
        page = int(query.get("page", 1))
        return items[(page - 1) * per_page : page * per_page]

    def _subscriptions(self, method: str, path: str, query: dict[str, str], form: dict[str, str]) -> tuple[int, Any]:
        creds = form if method == "POST" else query
        if creds.get("client_id") != self.client_id or creds.get("client_secret") != self.client_secret:
            return 401, {"message": "Authorization Error", "errors": [{"resource": "Application", "field": "client_id", "code": "invalid"}]}
        if method == "GET":
            return 200, list(self.subscriptions.values())
        if method == "DELETE":
            sid = int(path.rsplit("/", 1)[-1])
            return (204, None) if self.subscriptions.pop(sid, None) else (404, {"message": "Record Not Found", "errors": []})
        if self.subscriptions:
            return 400, {"message": "Bad Request", "errors": [{"resource": "PushSubscription", "field": "", "code": "already exists"}]}
        challenge = secrets.token_hex(8)
        try:
            # Strava checks the callback within two seconds before it creates anything.
            answer = httpx.get(form["callback_url"], params={"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": form.get("verify_token", "")}, timeout=2.0)
            ok = answer.status_code == 200 and answer.json().get("hub.challenge") == challenge
        except (httpx.HTTPError, ValueError):
            ok = False
        if not ok:
            return 400, {"message": "Bad Request", "errors": [{"resource": "PushSubscription", "field": "callback url", "code": "GET to callback URL does not return 200"}]}
        sid = 100 + len(self.calls)
        now = datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.subscriptions[sid] = {"id": sid, "resource_state": 2, "application_id": int(self.client_id), "callback_url": form["callback_url"], "created_at": now, "updated_at": now}
        return 201, {"id": sid}


# ---- heavylegs-side helpers shared by the Strava tests --------------------
def strava_settings(settings: Any, fake: StravaFake, **extra: Any) -> Any:
    """``settings`` pointed at the fake."""
    values = {"strava.client_id": fake.client_id, "strava.client_secret": fake.client_secret,
              "strava.api_url": fake.api_url, "strava.oauth_url": fake.oauth_url}
    values.update({f"strava.{k}": v for k, v in extra.items()})
    return settings.with_overrides(values)


def config_toml(path: Any, fake: StravaFake, **extra: Any) -> Any:
    """A config file pointing the CLI at the fake (for subprocess tests)."""
    values = {"client_id": fake.client_id, "client_secret": fake.client_secret, "api_url": fake.api_url, "oauth_url": fake.oauth_url, **extra}
    lines = ["[strava]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def seed_connection(engine: Any, settings: Any, fake: StravaFake, *, athlete: str = "me", name: str = "strava",
                    expires_in: int | None = None, cursor: int | None = None) -> Any:
    """A connected Strava source, as ``connect strava`` leaves it, with tokens from the fake."""
    from sqlalchemy import insert, select

    from heavylegs.store.activities import get_or_create_athlete
    from heavylegs.store.tables import sources
    from heavylegs.strava.tokens import save_tokens

    tokens = fake.issue_tokens(expires_in)
    with engine.begin() as conn:
        athlete_id = get_or_create_athlete(conn, athlete)
        sid = conn.execute(insert(sources).values(athlete_id=athlete_id, name=name, kind="strava", config_json="{}", enabled=True,
                                                  status="ok", cursor=None if cursor is None else str(cursor), created_ts=time.time())).inserted_primary_key[0]
        save_tokens(conn, settings.store_key, int(sid), tokens, scope="read,activity:read_all")
        return conn.execute(select(sources).where(sources.c.id == sid)).first()


def seed_subscription(engine: Any, callback_url: str = "http://127.0.0.1/webhooks/strava", *, subscription_id: int = 101,
                      secret: str = "s3cret-path-" + "x" * 32, verify_token: str = "verify-token") -> str:
    """A stored push subscription, as ``strava subscribe`` leaves it; returns its callback URL (with the secret path)."""
    from sqlalchemy import delete, insert

    from heavylegs.strava.subscription import with_path_secret
    from heavylegs.strava.tables import strava_subscription

    url = with_path_secret(callback_url, secret)
    with engine.begin() as conn:
        conn.execute(delete(strava_subscription))
        conn.execute(insert(strava_subscription).values(id=1, subscription_id=subscription_id, verify_token=verify_token,
                                                        callback_url=url, created_ts=time.time()))
    return url
