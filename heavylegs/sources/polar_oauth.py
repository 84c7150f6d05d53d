"""The one-shot OAuth callback server of ``heavylegs connect polar`` on 127.0.0.1.

Like Strava's (``heavylegs.strava.loopback``): it is bound before the
authorize URL is shown, so the redirect can never arrive first; a redirect
whose ``state`` is not this connect's is refused before any code exchange,
and the first redirect with the right state is the only one handled (single
use). ``handle`` gets the query parameters and returns the outcome shown in
the browser and to the command.
"""
from __future__ import annotations

import hmac
import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Outcome:
    ok: bool
    message: str


def page(service: str, outcome: Outcome) -> bytes:
    title = f"heavylegs is connected to {service}" if outcome.ok else f"heavylegs could not connect to {service}"
    return (f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
            f"<p>{html.escape(outcome.message)}</p><p>You can close this window.</p>").encode()


class CallbackServer:
    def __init__(self, port: int, path: str, state: str, handle: Callable[[dict[str, str]], Outcome], service: str = "Polar") -> None:
        self.port, self.path, self.state, self.handle, self.service = port, path, state, handle, service
        self.result: list[Outcome] = []
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.server: HTTPServer | None = None

    def start(self) -> bool:
        """Listen on 127.0.0.1:port; False when the port is taken."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != owner.path:
                    self.send_error(404)
                    return
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with owner.lock:  # one redirect is handled; the rest find the flow finished
                    if owner.done.is_set():
                        outcome = Outcome(False, "this connect has already received its answer; nothing was exchanged")
                    elif not hmac.compare_digest(params.get("state", "").encode(), owner.state.encode()):
                        outcome = Outcome(False, "state mismatch: the redirect did not carry this connect's state; nothing was exchanged. "
                                                 "Run connect again.")
                        owner.result.append(outcome)
                        owner.done.set()
                    else:
                        outcome = owner.handle(params)
                        owner.result.append(outcome)
                        owner.done.set()
                body = page(owner.service, outcome)
                self.send_response(200 if outcome.ok else 400)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        except OSError:
            return False
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return True

    def wait(self, timeout_s: float) -> Outcome:
        try:
            if not self.done.wait(timeout_s):
                return Outcome(False, f"no answer from {self.service} within {int(timeout_s)} s; run connect again")
            return self.result[0]
        finally:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
