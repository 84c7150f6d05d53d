"""The connect command's one-shot callback server on 127.0.0.1.

It is bound before the authorize URL is shown, so the redirect can never
arrive first. When the port is taken (the heavylegs service may be answering
the callback itself), the command waits for the outcome in the database.
"""
from __future__ import annotations

import hmac
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine

from heavylegs.sources.base import SourceEnv
from heavylegs.strava.connect import Outcome, complete, outcome_of

CALLBACK_PATH = "/oauth/strava/callback"


def page(outcome: Outcome) -> bytes:
    title = "heavylegs is connected to Strava" if outcome.ok else "heavylegs could not connect to Strava"
    return (f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
            f"<p>{html.escape(outcome.message)}</p><p>You can close this window.</p>").encode()


class CallbackServer:
    def __init__(self, engine: Engine, env: SourceEnv, state: str) -> None:
        self.engine, self.env, self.state = engine, env, state
        self.result: list[Outcome] = []
        self.done = threading.Event()
        self.server: HTTPServer | None = None

    def start(self) -> bool:
        """Listen on strava.callback_port; False when the port is taken."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or owner.done.is_set():
                    self.send_error(404)
                    return
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                if not hmac.compare_digest(str(params.get("state") or "").encode(), owner.state.encode()):
                    outcome = Outcome(False, "state mismatch: the redirect did not carry this connect's state; nothing was exchanged. Run connect again.")
                else:
                    outcome = complete(owner.engine, owner.env, params)
                body = page(outcome)
                self.send_response(200 if outcome.ok else 400)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                owner.result.append(outcome)
                owner.done.set()

        try:
            self.server = HTTPServer(("127.0.0.1", self.env.strava.callback_port), Handler)
        except OSError:
            return False
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return True

    def wait(self, timeout_s: float) -> Outcome:
        if self.server is None:
            return _poll(self.engine, self.state, timeout_s)
        try:
            if not self.done.wait(timeout_s):
                return Outcome(False, f"no answer from Strava within {int(timeout_s)} s; run connect again")
            return self.result[0]
        finally:
            self.server.shutdown()
            self.server.server_close()


def _poll(engine: Engine, state: str, timeout_s: float) -> Outcome:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = outcome_of(engine, state)
        if found is not None:
            return found
        time.sleep(0.5)
    return Outcome(False, f"the callback port is in use and no answer arrived within {int(timeout_s)} s")
