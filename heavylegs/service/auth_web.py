"""The web endpoint's gatekeepers: the Host check, the login gate and the login form.

Public without a login: ``/healthz`` (status only), ``/login``, ``/logout``,
the webhook receivers (``/webhooks/...``, which carry their own secrets) and
the OAuth callback (checked against its state). Everything else - the report
for any athlete, ``/metrics`` - needs a session cookie or a bearer token when
``[service.auth]`` is set, and every unauthenticated request gets the same
answer whatever the athlete, so names cannot be probed.
"""
from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Iterable
from threading import Lock
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from heavylegs.bodies import BodyError, read_body
from heavylegs.service.auth import Auth

COOKIE = "heavylegs_session"
PUBLIC_PREFIXES = ("/webhooks/", "/oauth/")
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/logout"})
AUTHORIZED = "heavylegs.authorized"  # scope key: may this request see athlete data?
MAX_FAILURES, FAILURE_WINDOW_S = 10, 300.0


def allowed_host_names(bind_host: str, extra: Iterable[str]) -> frozenset[str]:
    names = {"localhost", "127.0.0.1", "::1", bind_host.strip("[]").lower()}
    names |= {h.strip().strip("[]").lower().rstrip(".") for h in extra if h.strip()}
    return frozenset(names - {"", "0.0.0.0", "::"})


def _host_name(value: str) -> str:
    """``example.org:8080`` -> ``example.org``; ``[::1]:8080`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value.rstrip(".")


class HostCheckMiddleware:
    """400 for a Host header not in the allowed names: a DNS-rebound page cannot read the service."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "*" not in self.allowed:
            host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
            if _host_name(host).rstrip(".") not in self.allowed:
                await JSONResponse({"error": "unknown host"}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FailureLimiter:
    """At most MAX_FAILURES failed logins or tokens per client in FAILURE_WINDOW_S, then 429."""

    def __init__(self) -> None:
        self._fails: dict[str, deque[float]] = {}
        self._lock = Lock()

    def blocked(self, client: str, now: float | None = None) -> bool:
        now = now or time.monotonic()
        with self._lock:
            q = self._fails.get(client)
            while q and q[0] < now - FAILURE_WINDOW_S:
                q.popleft()
            return q is not None and len(q) >= MAX_FAILURES

    def fail(self, client: str) -> None:
        with self._lock:
            if len(self._fails) > 10_000:  # a flood of addresses must not grow memory without bound
                self._fails.clear()
            self._fails.setdefault(client, deque()).append(time.monotonic())


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class AuthGateMiddleware:
    """Marks each request authorized or not; answers 401/303 for protected paths without a login."""

    def __init__(self, app: ASGIApp, auth: Auth, limiter: FailureLimiter) -> None:
        self.app, self.auth, self.limiter = app, auth, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope.get("path", "")
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        ok, bad_token = self._check(request)
        scope[AUTHORIZED] = ok
        if not public and not ok:
            if bad_token:
                self.limiter.fail(_client(scope))
            if self.limiter.blocked(_client(scope)):
                response: Response = JSONResponse({"error": "too many failed logins; wait a few minutes"}, status_code=429)
            elif _wants_html(request) and not request.headers.get("authorization"):
                target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
                response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            else:
                response = JSONResponse({"error": "login required"}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="heavylegs"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, request: Request) -> tuple[bool, bool]:
        """(authorized, a bearer token was presented and was wrong)."""
        if not self.auth.enabled:
            return True, False
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and self.auth.check_token(value.strip()):
                return True, False
            return False, True
        cookie = request.cookies.get(COOKIE)
        return bool(cookie and self.auth.session_ok(cookie)), False


def _safe_next(target: str) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...`` (no open redirect)."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def _form(next_url: str, message: str = "") -> str:
    note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
    return (
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>heavylegs: log in</title><h1>heavylegs</h1>" + note +
        f'<form method="post" action="/login"><input type="hidden" name="next" value="{html.escape(next_url)}">'
        '<label>Password or token <input type="password" name="password" autocomplete="current-password" autofocus required></label> '
        "<button>Log in</button></form></html>"
    )


def login_routes(auth: Auth, limiter: FailureLimiter, secure_cookie: bool) -> list[BaseRoute]:
    def login_page(request: Request) -> Response:
        if not auth.enabled:  # nothing to log in to (loopback without service.auth)
            return RedirectResponse("/", status_code=303)
        return HTMLResponse(_form(_safe_next(request.query_params.get("next", "/"))))

    async def login(request: Request) -> Response:
        if not _same_origin(request):
            return JSONResponse({"error": "cross-site login refused"}, status_code=403)
        client = _client(request.scope)
        if limiter.blocked(client):
            return HTMLResponse(_form("/", "Too many failed logins; wait a few minutes."), status_code=429)
        try:
            fields = parse_qs((await read_body(request)).decode("utf-8", "replace"), max_num_fields=10)
        except (BodyError, ValueError):
            return HTMLResponse(_form("/", "Bad request."), status_code=400)
        next_url = _safe_next((fields.get("next") or ["/"])[0])
        secret = (fields.get("password") or [""])[0]
        if not auth.enabled:
            return RedirectResponse(next_url, status_code=303)
        if not secret or not auth.check_login(secret):
            limiter.fail(client)
            return HTMLResponse(_form(next_url, "Wrong password or token."), status_code=401)
        response = RedirectResponse(next_url, status_code=303)
        secure = secure_cookie or request.url.scheme == "https"
        response.set_cookie(COOKIE, auth.new_session(), max_age=int(auth.session_s), httponly=True, samesite="strict", secure=secure, path="/")
        return response

    async def logout(request: Request) -> Response:
        if not _same_origin(request):
            return JSONResponse({"error": "cross-site logout refused"}, status_code=403)
        cookie = request.cookies.get(COOKIE)
        if cookie:
            auth.revoke(cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
