"""Request bodies read with a size cap and JSON parsed defensively (the webhook receivers use this).

It sits below every layer that serves HTTP (the service's endpoint and the sources' webhook
routes), so a source's routes need not import the service to read a body.

``BodyLimitMiddleware`` caps every request body (``service.max_body_bytes``,
64 KiB by default): a ``Content-Length`` above the cap is answered 413 before
a byte is read, and a chunked body is counted as it streams and cut off at the
cap, so a 600 MB POST never reaches memory. ``read_json_body`` is what a route
calls: the same cap, ``application/json`` required, and every malformed body
(deep nesting, ``1e400``, NaN, a 5,000-digit integer) a 4xx, never a 500.
"""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # webhook events are 2-3 levels deep


class BodyError(Exception):
    """A body refused with ``status`` (400, 413 or 415); ``response()`` is the JSON answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, status_code=self.status)


class _TooLarge(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class BodyLimitMiddleware:
    """Generic ASGI middleware: 413 for bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            await _answer(send, 413 if declared > 0 else 400, "request body too large" if declared > 0 else "bad Content-Length")
            return
        seen = 0
        responded = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            # The app was reading the body; nothing has been answered yet in every route we have.
            if not responded:
                await _answer(send, 413, "request body too large")


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request, max_bytes: int | None = None) -> bytes:
    """The whole body, at most ``max_bytes`` (default: the app's ``service.max_body_bytes``); BodyError(413) beyond."""
    limit = max_bytes if max_bytes is not None else getattr(request.app.state, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyError(413 if declared.isdigit() else 400, "request body too large" if declared.isdigit() else "bad Content-Length")
    chunks: list[bytes] = []
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise BodyError(413, "request body too large")
            chunks.append(chunk)
    except _TooLarge:
        raise BodyError(413, "request body too large") from None
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _int64(text: str) -> int:
    # Ids and timestamps fit in 64 bits; a bigger number is an attack on a BIGINT column, not data.
    if len(text) > 20:
        raise ValueError("number out of range")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError("number out of range")
    return value


def _depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from bytes, or BodyError(400): no NaN/Infinity, no overflowing floats, integers within
    64 bits, bounded nesting."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_int64)
    except RecursionError:
        raise BodyError(400, "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError, OverflowError):
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        raise BodyError(400, "not valid JSON") from None
    if not _depth_ok(value, max_depth):
        raise BodyError(400, "JSON nested too deeply")
    return value


async def read_json_body(request: Request, max_bytes: int | None = None, require_json_type: bool = True) -> Any:
    """The request's JSON body, read under the size cap; BodyError (413, 415 or 400) otherwise.

    ``require_json_type``: refuse anything but ``application/json`` with 415, so a
    web page cannot post a "simple" cross-site request (text/plain) to a webhook.
    """
    if require_json_type:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise BodyError(415, "Content-Type must be application/json")
    return parse_json(await read_body(request, max_bytes))
