"""Issue 13, finding 5: webhook bodies are capped and parsed defensively, on a real uvicorn server.

The review's attacks: a 600 MB POST (memory 196 MB -> 1.43 GB), JSON nested
200,000 deep (RecursionError, 500) and ``"object_id": 1e400`` (OverflowError,
500). Each now gets a 4xx, and a too-large body is refused before it is read.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from heavylegs.bodies import BodyError, parse_json
from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import load_settings
from heavylegs.store.db import make_engine, migrate
from tests.helpers import poll
from tests.service_support import free_port
from tests.strava_fake import seed_subscription

HOOK = "/webhooks/strava/" + "k" * 43  # the secret path of the subscription seeded below (issue 13, finding 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("bodies")
    settings = load_settings(data_dir=tmp / "data", db=f"sqlite:///{tmp / 'b.db'}", environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    seed_subscription(engine, secret=HOOK.rsplit("/", 1)[1])
    port = free_port()
    app = build_app(engine, settings, Scheduler(engine, settings), PrometheusMetrics(engine), bind_host="127.0.0.1")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    poll(lambda: srv.started, 10, interval=0.01, what="the web server")
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)
    engine.dispose()


def _raw(base: str, head: str, body_chunks: Iterable[bytes] = ()) -> tuple[int, int]:
    """Send a request by hand; returns (status, body bytes sent before the answer arrived)."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        reply = b""
        for chunk in body_chunks:
            try:
                reply += sock.recv(4096)
            except BlockingIOError:
                pass
            if reply:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.setblocking(True)
        while b"\r\n" not in reply:
            more = sock.recv(4096)
            if not more:
                break
            reply += more
    return int(reply.split(b" ", 2)[1]), sent


def test_a_declared_600_mb_body_is_refused_before_it_is_read(server: str) -> None:
    head = (f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {600 * 1024 * 1024}\r\n\r\n")
    status, sent = _raw(server, head)
    assert status == 413 and sent == 0


def test_a_chunked_body_is_cut_off_at_the_cap(server: str) -> None:
    head = f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b"x" * 16384
    chunks = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(6400))  # 100 MiB if all were read
    status, sent = _raw(server, head, chunks)
    assert status == 413
    assert sent < 50 * 1024 * 1024  # the server answered long before the 100 MiB were through


@pytest.mark.parametrize("body,status", [
    (b"[" * 30000 + b"]" * 30000, 400),  # under the 64 KiB cap, deeper than any parser should recurse
    (b'{"object_id": 1e400, "object_type": "activity"}', 400),  # inf: the OverflowError of the review
    (b'{"object_id": ' + b"9" * 5000 + b"}", 400),  # past Python's int digit limit
    (b'{"object_id": 99999999999999999999999}', 400),  # past a BIGINT column
    (b'{"object_id": NaN}', 400),
    (b'{"object_id": ', 400),
    (b"\xff\xfe not utf-8", 400),
])
def test_hostile_json_is_a_4xx_never_a_500(server: str, body: bytes, status: int) -> None:
    resp = httpx.post(server + HOOK, content=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == status
    assert "Traceback" not in resp.text and "Error" not in resp.text.split('"error"', 1)[0]


def test_only_application_json_is_accepted(server: str) -> None:
    """A page in the user's browser can send text/plain cross-site without a preflight; not JSON."""
    event = json.dumps({"object_type": "activity", "object_id": 1, "aspect_type": "delete", "owner_id": 1, "subscription_id": 1, "event_time": 1})
    resp = httpx.post(server + HOOK, content=event, headers={"Content-Type": "text/plain"}, timeout=10)
    assert resp.status_code == 415


def test_parse_json_accepts_ordinary_events() -> None:
    event = {"object_type": "activity", "object_id": 12345678987654321, "updates": {"title": "Long run $5"}, "x": 1.5}
    assert parse_json(json.dumps(event).encode()) == event
    with pytest.raises(BodyError) as err:
        parse_json(json.dumps({"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}).encode())
    assert err.value.status == 400
