"""Real loopback receivers for alert deliveries: an HTTP webhook endpoint and an SMTP server.

Both are reusable by any test (end-to-end ones included)::

    with WebhookReceiver(secret="s3") as hook:       # http://127.0.0.1:<port>/hook
        hook.fail_next(2, status=503)                 # the next two requests get 503
        ... deliver ...
        assert hook.unique_ids() == [alert_id]        # accepted deliveries, deduped by alert id

    with SmtpReceiver() as smtp:                      # aiosmtpd on 127.0.0.1:<port>
        smtp.fail_next(1, "451 4.3.0 try later")
        ... deliver ...
        assert smtp.messages[0]["X-Heavylegs-Alert"] == alert_id

The webhook receiver verifies the signature on its own (plain hmac, not
heavylegs' code) and answers 401 to a bad one.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import poll


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The webhook contract, computed independently: sha256=HMAC(secret, "<timestamp>.<body>")."""
    ts = headers.get("x-heavylegs-timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("x-heavylegs-signature", ""))


def _wait(pred: Callable[[], bool], timeout: float) -> bool:
    try:
        return bool(poll(pred, timeout, interval=0.02))
    except AssertionError:
        return pred()


@dataclass
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what the receiver answered
    signature_ok: bool | None  # None when the receiver has no secret

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("x-heavylegs-delivery", "")


@dataclass
class WebhookReceiver:
    secret: str = ""
    status: int = 200  # answer when not told to fail
    delay_s: float = 0.0  # sleep before answering (a slow receiver)
    port: int = 0
    requests: list[Received] = field(default_factory=list)  # everything that arrived
    _fail: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Received]:
        """Requests that were accepted (answered 2xx)."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def unique_ids(self) -> list[str]:
        """Accepted alert ids in arrival order, duplicates dropped (what a deduping receiver keeps)."""
        return list(dict.fromkeys(r.delivery_id for r in self.received))

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    def reset(self) -> None:
        """Forget what arrived and answer 200 promptly again (for a receiver shared by several tests)."""
        with self._lock:
            self.requests.clear()
            self._fail.clear()
        self.status, self.delay_s = 200, 0.0

    def _answer(self) -> int:
        with self._lock:
            return self._fail.pop(0) if self._fail else self.status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_signature(outer.secret, headers, body) if outer.secret else None
                status = 401 if ok is False else outer._answer()
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                with outer._lock:
                    outer.requests.append(Received(headers, body, status, ok))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        return Handler

    def start(self) -> WebhookReceiver:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        server.block_on_close = False  # a slow handler must not hold up stop()
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # A receiver that is down refuses connections on its port; up() listens on the same port again.
    down = stop
    up = start

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        return _wait(lambda: len(self.received) >= n, timeout)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _SmtpHandler:
    def __init__(self, owner: SmtpReceiver) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd naming
        reply = self.owner._answer()
        if not reply.startswith("250"):
            self.owner.refused += 1
            return reply
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.owner._lock:
            self.owner.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.owner.messages.append(msg)  # type: ignore[arg-type]
        return reply


class SmtpReceiver:
    """aiosmtpd on loopback. ``fail_next(n, reply)`` refuses the next n messages at DATA;
    ``auth=(user, password)`` requires AUTH (over plain SMTP, loopback only)."""

    def __init__(self, auth: tuple[str, str] | None = None, tls: str = "", cert: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.auth = auth
        self.tls = tls  # "" plain | "starttls" (required before MAIL) | "tls" (implicit)
        self.cert = cert  # (certificate PEM path, key PEM path)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused = 0
        self.reply = "250 OK"  # answer when not told to fail
        self._fail: list[str] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def fail_next(self, n: int, reply: str = "451 4.3.0 Try again later") -> None:
        with self._lock:
            self._fail.extend([reply] * n)

    def _answer(self) -> str:
        with self._lock:
            return self._fail.pop(0) if self._fail else self.reply

    def reset(self) -> None:
        """Forget what arrived and accept everything again (for a server shared by several tests)."""
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self._fail.clear()
        self.refused, self.reply = 0, "250 OK"

    def _authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        assert self.auth is not None
        ok = (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def start(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            # Plain-text AUTH is fine on loopback; aiosmtpd warns about it, so say it on purpose.
            # (aiosmtpd counts only STARTTLS as TLS: on implicit TLS it would hide AUTH.)
            kwargs = {"authenticator": self._authenticator, "auth_required": True, "auth_require_tls": self.tls == "starttls"}
        if self.tls:
            assert self.cert is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.cert)
            kwargs |= {"tls_context": context, "require_starttls": True} if self.tls == "starttls" else {"ssl_context": context}
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]

    def alert_ids(self) -> list[str]:
        return [str(m["X-Heavylegs-Alert"]) for m in self.messages]

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        return _wait(lambda: len(self.messages) >= n, timeout)

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
