"""Strava's HTTP routes on the service: the webhook endpoint and the OAuth callback."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from heavylegs.settings import Settings
from heavylegs.strava import webhooks
from heavylegs.strava.connect import complete
from heavylegs.strava.loopback import page

log = logging.getLogger("heavylegs.strava")


def routes(engine: Engine, settings: Settings) -> list[BaseRoute]:
    def verify(request: Request) -> Response:
        status, body = webhooks.handshake(engine, dict(request.query_params))
        return JSONResponse(body, status_code=status)

    async def event(request: Request) -> Response:
        try:
            payload: Any = await request.json()
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        # Storing is one small transaction; processing waits for the sync job,
        # so Strava gets its answer well inside its 2-second limit.
        status, body = await run_in_threadpool(webhooks.receive, engine, payload)
        if body.get("stored"):
            wake = getattr(request.app.state, "wake_sources", None)
            if wake is not None:
                try:
                    wake("strava")
                except Exception as exc:  # the event is stored; the next scheduled sync handles it
                    log.warning("could not wake the Strava sync: %s", exc)
        return JSONResponse(body, status_code=status)

    def callback(request: Request) -> Response:
        outcome = complete(engine, settings, dict(request.query_params))
        return HTMLResponse(page(outcome).decode(), status_code=200 if outcome.ok else 400)

    return [
        Route("/webhooks/strava", verify, methods=["GET"]),
        Route("/webhooks/strava", event, methods=["POST"]),
        Route("/oauth/strava/callback", callback, methods=["GET"]),
    ]
