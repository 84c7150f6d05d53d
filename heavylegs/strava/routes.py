"""Strava's HTTP routes on the service: the webhook endpoint and the OAuth callback.

The webhook lives only at ``/webhooks/strava/<secret>`` (the secret made by
``heavylegs strava subscribe``). A wrong secret, and the old bare
``/webhooks/strava``, get the same 404 as any unknown path, before the body is
read, so the path cannot be probed.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from heavylegs.bodies import BodyError, read_json_body
from heavylegs.sources.base import SourceEnv
from heavylegs.strava import webhooks
from heavylegs.strava.connect import complete
from heavylegs.strava.loopback import page
from heavylegs.strava.subscription import path_secret, secret_matches
from heavylegs.strava.tables import strava_subscription

log = logging.getLogger("heavylegs.strava")


def _warn_if_old_subscription(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            url = conn.execute(select(strava_subscription.c.callback_url).where(strava_subscription.c.id == 1)).scalar()
    except SQLAlchemyError:  # a store not migrated yet: nothing to warn about
        return
    if url and path_secret(url) is None:
        log.warning("the Strava webhook subscription points at %s, which has no secret path and now answers 404: "
                    "run heavylegs strava subscribe --callback-url <public URL of /webhooks/strava> again", url)


def routes(engine: Engine, env: SourceEnv) -> list[BaseRoute]:
    max_pending = env.strava.webhook_max_pending
    _warn_if_old_subscription(engine)

    async def check_secret(request: Request) -> None:
        if not await run_in_threadpool(secret_matches, engine, str(request.path_params["secret"])):
            raise HTTPException(404)  # the very answer of an unknown path

    async def verify(request: Request) -> Response:
        await check_secret(request)
        status, body = await run_in_threadpool(webhooks.handshake, engine, dict(request.query_params))
        return JSONResponse(body, status_code=status)

    async def event(request: Request) -> Response:
        await check_secret(request)
        try:  # size cap, application/json only, defensive parse (heavylegs.bodies)
            payload: Any = await read_json_body(request)
        except BodyError as exc:
            return exc.response()
        # Storing is one small transaction; processing (with its API checks) waits
        # for the sync job, so Strava gets its answer well inside its 2-second limit.
        status, body, stored = await run_in_threadpool(webhooks.receive, engine, payload, max_pending)
        if stored:
            wake = getattr(request.app.state, "wake_sources", None)
            if wake is not None:
                try:
                    wake("strava")
                except Exception as exc:  # the event is stored; the next scheduled sync handles it
                    log.warning("could not wake the Strava sync: %s", exc)
        return JSONResponse(body, status_code=status)

    def callback(request: Request) -> Response:
        outcome = complete(engine, env, dict(request.query_params))
        return HTMLResponse(page(outcome).decode(), status_code=200 if outcome.ok else 400)

    return [
        Route("/webhooks/strava/{secret}", verify, methods=["GET"]),
        Route("/webhooks/strava/{secret}", event, methods=["POST"]),
        Route("/oauth/strava/callback", callback, methods=["GET"]),
    ]
