"""A small synchronous client for Polar AccessLink v3, on httpx.

Polar's rules, as this client applies them:
- the user token comes from the OAuth code flow (``exchange_code``: HTTP Basic
  ``client_id:client_secret`` at the token URL); it lasts about a year and
  there is no refresh token;
- a user must be registered (``POST /v3/users``) before any data; 409 means
  they already are;
- ``GET /v3/exercises`` lists what was uploaded in the last 30 days (no paging,
  no dates); the original is ``/fit``, else ``/tcx`` (gzipped) or ``/gpx``;
- every answer carries ``RateLimit-Usage``, ``RateLimit-Limit`` and
  ``RateLimit-Reset`` (two comma-separated values: the 15-minute and the 24-hour
  window). The client stops short of either limit (``reserve_fraction``) and
  turns that, or a 429, into ``RateLimited`` with the reset time;
- 401 is a revoked token (``Unauthorized``), 403 missing consents (``Forbidden``).
Only transport errors and 5xx answers are retried here (stamina).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import stamina

from ingest.polar.errors import Forbidden, NotFound, PolarError, RateLimited, Unauthorized
from ingest.polar.ratelimit import RateWindows

DEFAULT_API_URL = "https://www.polaraccesslink.com"
FALLBACK_FORMATS = ("fit", "tcx", "gpx")


class _Transient(Exception):
    pass


class PolarClient:
    def __init__(self, api_url: str, token: Callable[[], str] | None = None, *, timeout_s: float = 30.0, reserve_fraction: float = 0.1,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time, retries: int = 3) -> None:
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.token = token  # a callable: the token is decrypted only when a request needs it
        self.clock = clock
        self.windows = RateWindows(reserve_fraction, clock)
        self.lock = threading.Lock()
        self.retries = max(1, retries)
        self.requests = 0
        self.http = httpx.Client(timeout=timeout_s, transport=transport, headers={"User-Agent": "heavylegs"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PolarClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- transport -----------------------------------------------------
    def send(self, method: str, url: str, *, headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
             **kw: Any) -> httpx.Response:
        """One request within the rate windows; bearer auth unless ``auth`` (client Basic) is given."""
        headers = dict(headers or {})
        if auth is None and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        try:
            for attempt in stamina.retry_context(on=(httpx.TransportError, _Transient), attempts=self.retries, wait_initial=0.5, wait_max=10.0):
                with attempt:
                    with self.lock:
                        self.windows.check()  # raises RateLimited before a request that would go over
                        self.requests += 1
                        resp = self.http.request(method, url if url.startswith("http") else self.api_url + url, headers=headers, auth=auth, **kw)
                        self.windows.update(resp.headers)
                    if resp.status_code == 429:
                        resume_at = self.windows.resume_at(exceeded=True)
                        raise RateLimited(f"Polar rate limit: wait until {time.strftime('%H:%M:%S', time.gmtime(resume_at))} UTC", resume_at)
                    if resp.status_code >= 500:
                        raise _Transient(f"{resp.status_code} from Polar")
                    return resp
        except httpx.TransportError as exc:
            raise PolarError(f"cannot reach Polar at {url.split('?')[0] if url.startswith('http') else self.api_url}: {type(exc).__name__}") from exc
        except _Transient as exc:
            raise PolarError(str(exc), 503) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, resp: httpx.Response, what: str, ok: tuple[int, ...] = (200,)) -> None:
        if resp.status_code in ok:
            return
        if resp.status_code == 401:
            raise Unauthorized(f"Polar refused the access token ({what}): it was revoked", 401)
        if resp.status_code == 403:
            raise Forbidden(f"Polar refused {what} (403): the user has not accepted Polar's data-sharing consents", 403)
        if resp.status_code == 404:
            raise NotFound(f"{what}: not found", 404)
        raise PolarError(f"{what}: HTTP {resp.status_code} {resp.text[:200]}", resp.status_code)

    # ---- OAuth and registration ------------------------------------------
    def exchange_code(self, token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str) -> dict[str, Any]:
        """``{access_token, token_type, expires_in, x_user_id}`` for an authorization code (single use)."""
        resp = self.send("POST", token_url, auth=(client_id, client_secret), headers={"Accept": "application/json"},
                         data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        if resp.status_code != 200:
            raise PolarError(f"Polar refused the authorization code (HTTP {resp.status_code}): {resp.text[:200]}", resp.status_code)
        try:
            body = resp.json()
        except ValueError as exc:
            raise PolarError("the token answer is not JSON") from exc
        if not isinstance(body, dict) or not body.get("access_token"):
            raise PolarError("the token answer has no access_token")
        return body

    def register(self, member_id: str) -> bool:
        """Register the user with our client; False when they already were (409)."""
        resp = self.send("POST", "/v3/users", json={"member-id": member_id}, headers={"Accept": "application/json"})
        self._check(resp, "user registration", ok=(200, 201, 409))
        return resp.status_code != 409

    # ---- exercises -------------------------------------------------------
    def list_exercises(self) -> list[dict[str, Any]]:
        """Exercises uploaded in the last 30 days (Polar keeps no longer list)."""
        resp = self.send("GET", "/v3/exercises", headers={"Accept": "application/json"})
        if resp.status_code == 204:
            return []
        self._check(resp, "exercise list")
        try:
            body = resp.json()
        except ValueError as exc:
            raise PolarError("the exercise list is not JSON") from exc
        if isinstance(body, dict):  # defensively: a wrapped list
            body = body.get("exercises") or []
        if not isinstance(body, list):
            raise PolarError("the exercise list is not a list")
        return [x for x in body if isinstance(x, dict) and x.get("id") not in (None, "")]

    def exercise(self, exercise_id: str) -> dict[str, Any]:
        resp = self.send("GET", f"/v3/exercises/{exercise_id}", headers={"Accept": "application/json"})
        self._check(resp, f"exercise {exercise_id}")
        body = resp.json()
        if not isinstance(body, dict):
            raise PolarError("the exercise is not an object")
        return body

    def download(self, exercise_id: str) -> tuple[bytes, str]:
        """(data, format): the FIT file, else the TCX (gzipped) or the GPX."""
        problems: list[str] = []
        for fmt in FALLBACK_FORMATS:
            accept = "*/*" if fmt == "fit" else f"application/{'vnd.garmin.tcx+xml' if fmt == 'tcx' else 'gpx+xml'}"
            resp = self.send("GET", f"/v3/exercises/{exercise_id}/{fmt}", headers={"Accept": accept})
            if resp.status_code in (401, 403):
                self._check(resp, f"exercise {exercise_id}")
            if resp.status_code == 200 and resp.content:
                return resp.content, fmt
            problems.append(f"{fmt}: HTTP {resp.status_code}")
        if all(p.endswith("404") for p in problems):
            raise NotFound(f"exercise {exercise_id}: no file ({', '.join(problems)})", 404)
        raise PolarError(f"exercise {exercise_id}: no file ({', '.join(problems)})")

    # ---- webhooks (client credentials) ------------------------------------
    def create_webhook(self, client_id: str, client_secret: str, url: str) -> dict[str, Any]:
        resp = self.send("POST", "/v3/webhooks", auth=(client_id, client_secret), headers={"Accept": "application/json"},
                         json={"events": ["EXERCISE"], "url": url})
        self._check(resp, "webhook creation", ok=(200, 201))
        body = resp.json()
        data = body.get("data", body) if isinstance(body, dict) else {}
        if not isinstance(data, dict) or not data.get("signature_secret_key"):
            raise PolarError("the webhook answer has no signature_secret_key")
        return data
