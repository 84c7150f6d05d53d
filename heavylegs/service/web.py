"""The service's HTTP endpoint: health, metrics, the live report, Strava's routes."""
from __future__ import annotations

import html
import logging
from datetime import date, datetime, timezone

from sqlalchemy import Engine, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from heavylegs.metrics.config import athlete_today
from heavylegs.report import render_report_html
from heavylegs.service.lock import ServiceLock
from heavylegs.service.prom import CONTENT_TYPE, ServiceMetrics
from heavylegs.service.scheduler import Service
from heavylegs.settings import ConfigError, Settings
from heavylegs.strava.routes import routes as strava_routes
from heavylegs.store.tables import athletes

log = logging.getLogger("heavylegs.service")


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _athlete_today(settings: Settings, name: str) -> date:
    try:
        return athlete_today(settings, name)
    except ConfigError:  # the analysis job reports a bad zone; the page still renders
        return datetime.now(timezone.utc).date()


def _no_athlete_page(athlete: str) -> str:
    """Before the first import the default athlete has no row yet: say what to do, not 404."""
    return (
        f"<!doctype html><title>heavylegs</title><h1>heavylegs: {html.escape(athlete)}</h1>"
        "<p>No activities yet. Drop .fit, .gpx or .tcx files (or an export .zip) into the inbox folder, "
        "or connect a source with <code>heavylegs connect folder PATH</code>.</p>"
    )


def build_app(engine: Engine, settings: Settings, service: Service, metrics: ServiceMetrics, lock: ServiceLock | None = None) -> Starlette:
    def healthz(request: Request) -> JSONResponse:
        db_ok = _database_ok(engine)
        sched_ok = service.alive()
        lock_ok = lock.alive() if lock is not None else True
        next_runs = service.next_runs() if sched_ok else {}
        job_view = {
            name: {
                "last_start": s.last_start, "last_end": s.last_end, "outcome": s.last_outcome,
                "error": s.last_error, "duration_s": s.last_duration_s, "runs": s.runs, "failures": s.failures,
                "next_run": next_runs.get(name),
            }
            for name, s in sorted(service.runner.stats.items())
        }
        for name, when in next_runs.items():
            job_view.setdefault(name, {"outcome": None, "runs": 0, "next_run": when})
        healthy = db_ok and sched_ok and lock_ok
        body = {"status": "ok" if healthy else "unhealthy", "database": db_ok, "scheduler": sched_ok, "lock": lock_ok, "jobs": job_view}
        return JSONResponse(body, status_code=200 if healthy else 503)

    def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def report(request: Request) -> Response:
        name = request.query_params.get("athlete") or settings.default_athlete
        with engine.connect() as conn:
            athlete_id = conn.execute(select(athletes.c.id).where(athletes.c.name == name)).scalar()
        if athlete_id is None:
            return HTMLResponse(_no_athlete_page(name), status_code=200 if athlete_id is not None or name == settings.default_athlete else 404)
        return HTMLResponse(render_report_html(engine, settings, int(athlete_id), _athlete_today(settings, name)))

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/", report, methods=["GET"]),
    ]
    routes += list(strava_routes(engine, settings))
    app = Starlette(routes=routes)
    app.state.wake_sources = service.wake_sources
    app.state.service = service
    return app
