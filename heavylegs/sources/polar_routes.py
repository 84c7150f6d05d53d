"""Polar's webhook route on the service: ``POST /webhooks/polar/<secret path>``.

An unknown path is 404. The body is read under the size cap and its signature
checked before it is parsed; an unsigned or badly signed body is 401 unless it
is Polar's PING (which triggers nothing). Fetching the exercise runs in a
worker thread so the event loop stays free.
"""
from __future__ import annotations

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from heavylegs.bodies import BodyError, parse_json, read_body
from heavylegs.sources import polar_webhook as hooks
from heavylegs.sources.base import SourceEnv


def routes(engine: Engine, env: SourceEnv) -> list[BaseRoute]:
    async def event(request: Request) -> Response:
        hook = await run_in_threadpool(hooks.find, engine, str(request.path_params["secret"]))
        if hook is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        try:
            raw = await read_body(request)
        except BodyError as exc:
            return exc.response()
        if not hooks.signature_ok(env, hook, raw, request.headers.get("Polar-Webhook-Signature")):
            if hooks.looks_like_ping(request.headers.get("Polar-Webhook-Event"), raw):
                return JSONResponse({"ok": True, "event": "PING"})
            return JSONResponse({"error": "bad signature"}, status_code=401)
        try:
            payload = parse_json(raw)
        except BodyError as exc:
            return exc.response()
        return JSONResponse(await run_in_threadpool(hooks.handle, engine, env, payload))

    return [Route("/webhooks/polar/{secret}", event, methods=["POST"])]
