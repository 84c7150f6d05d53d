"""The service's HTTP endpoint: health, Prometheus metrics, the live report, login, Strava's routes.

Layers, outermost first: the Host check (DNS rebinding), the body cap
(``service.max_body_bytes``), the login gate (``service.auth``; see
``auth_web``), then the routes. No response carries exception text: errors
are logged, and the answer says only what failed.
"""
from __future__ import annotations

import html
import logging

from sqlalchemy import Engine, select, text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heavylegs.bodies import BodyLimitMiddleware
from heavylegs.report import render_report_html
from heavylegs.service.auth import Auth
from heavylegs.service.auth_web import (
    AUTHORIZED,
    AuthGateMiddleware,
    FailureLimiter,
    HostCheckMiddleware,
    allowed_host_names,
    login_routes,
)
from heavylegs.service.envs import analysis_env, source_env
from heavylegs.service.lock import ServiceLock
from heavylegs.service.pagecache import ReportCache
from heavylegs.service.prom import CONTENT_TYPE, PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.settings import Settings
from heavylegs.sources.polar_routes import routes as polar_routes
from heavylegs.store.db import read
from heavylegs.store.tables import athletes
from heavylegs.strava.routes import routes as strava_routes

log = logging.getLogger("heavylegs.service")

# No scripts, no frames, no outside resources: the report is inline CSS and data: images. A page
# elsewhere can neither frame the login form (clickjacking) nor make the report load anything.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
LOGOUT_FORM = '<form method="post" action="/logout" style="float:right"><button>Log out</button></form>'

# /healthz never shows a job's error text (it can carry paths, hosts, SQL); `heavylegs sources` does.
JOB_FAILED = "failed; see `heavylegs sources` or the service log"


def _database_ok(engine: Engine) -> bool:
    try:
        with read(engine) as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _no_athlete_page(athlete: str) -> str:
    """Before the first import the default athlete has no row yet: say what to do, not 404."""
    return (
        f"<!doctype html><title>heavylegs</title><h1>heavylegs: {html.escape(athlete)}</h1>"
        "<p>No activities yet. Drop .fit, .gpx or .tcx files (or an export .zip) into the inbox folder, "
        "or connect a source with <code>heavylegs connect folder PATH</code>.</p>"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in SECURITY_HEADERS if k not in have]
            await send(message)

        await self.app(scope, receive, with_headers)


def build_app(engine: Engine, settings: Settings, scheduler: Scheduler, metrics: PrometheusMetrics, lock: ServiceLock | None = None,
              bind_host: str | None = None, auth: Auth | None = None) -> Starlette:
    conf = settings.cfg.service
    auth = auth if auth is not None else Auth.from_config(conf.auth, settings.secrets)
    limiter = FailureLimiter()
    report_conf, analysis = settings.cfg.report, analysis_env(settings)
    cache = ReportCache(engine, lambda athlete_id, today: render_report_html(engine, report_conf, analysis, athlete_id, today))

    def healthz(request: Request) -> JSONResponse:
        db_ok = _database_ok(engine)
        sched_ok = scheduler.alive()
        lock_ok = lock.alive() if lock is not None else True
        healthy = db_ok and sched_ok and lock_ok
        status = 200 if healthy else 503
        if not request.scope.get(AUTHORIZED, False):
            return JSONResponse({"status": "ok" if healthy else "unhealthy"}, status_code=status)
        next_runs = scheduler.next_runs() if sched_ok else {}
        job_view = {
            name: {
                "last_start": s.last_start, "last_end": s.last_end, "outcome": s.last_outcome,
                "error": JOB_FAILED if s.last_error else None, "duration_s": s.last_duration_s, "runs": s.runs, "failures": s.failures,
                "next_run": next_runs.get(name),
            }
            for name, s in sorted(scheduler.job_runner.stats.items())
        }
        for name, when in next_runs.items():
            job_view.setdefault(name, {"outcome": None, "runs": 0, "next_run": when})
        body = {"status": "ok" if healthy else "unhealthy", "database": db_ok, "scheduler": sched_ok, "lock": lock_ok, "jobs": job_view}
        return JSONResponse(body, status_code=status)

    def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def report(request: Request) -> Response:
        name = request.query_params.get("athlete") or settings.default_athlete
        with read(engine) as conn:
            athlete_id = conn.execute(select(athletes.c.id).where(athletes.c.name == name)).scalar()
        if athlete_id is None:
            return HTMLResponse(_no_athlete_page(name), status_code=200 if name == settings.default_athlete else 404)
        page = cache.page(int(athlete_id), settings.athlete_today(name))
        return HTMLResponse(page.replace("<body>", "<body>" + LOGOUT_FORM, 1) if auth.enabled else page)

    async def server_error(request: Request, exc: Exception) -> Response:
        # The first line only: a database error's later lines carry the statement and its values.
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
        return JSONResponse({"error": "internal error"}, status_code=500)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/", report, methods=["GET"]),
    ]
    routes += login_routes(auth, limiter, secure_cookie=conf.behind_proxy)
    routes += list(strava_routes(engine, source_env(settings)))
    routes += polar_routes(engine, source_env(settings))
    allowed = allowed_host_names(bind_host or conf.host, conf.allowed_hosts)
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(HostCheckMiddleware, allowed=allowed),
        Middleware(BodyLimitMiddleware, max_bytes=conf.max_body_bytes),
        Middleware(AuthGateMiddleware, auth=auth, limiter=limiter),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={500: server_error})
    app.state.wake_sources = scheduler.wake_sources
    app.state.scheduler = scheduler
    app.state.max_body_bytes = conf.max_body_bytes
    app.state.report_cache = cache
    app.state.auth = auth
    return app
