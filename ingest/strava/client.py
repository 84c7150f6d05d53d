"""A small synchronous Strava API client on httpx.

The transport is the seam: tests point ``api_url``/``oauth_url`` at a real
loopback server. Every API response feeds the rate budget; a 429 turns into
``RateLimited`` carrying the time to resume (never retried here), while 5xx
answers and timeouts are retried a few times with backoff.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ingest.strava.budget import BudgetExhausted, RateBudget

STREAM_KEYS = "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,moving,grade_smooth,temp"
PER_PAGE = 200


class StravaError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unauthorized(StravaError):
    """401: the access token is invalid, expired or revoked."""


class InvalidGrant(StravaError):
    """The token endpoint refused a code or refresh token: the user must connect again."""


class NotFound(StravaError):
    """404: e.g. an activity deleted (or made private) since it was listed."""


class RateLimited(BudgetExhausted):
    """Strava answered 429; ``resume_at`` is the next reset of the exceeded window."""


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        errors = body.get("errors") or []
        detail = ", ".join(f"{e.get('resource')}.{e.get('field')} {e.get('code')}" for e in errors if isinstance(e, dict))
        return f"{body.get('message', '')} ({detail})" if detail else str(body.get("message", body))
    return str(body)[:200]


class StravaClient:
    def __init__(
        self,
        api_url: str,
        oauth_url: str,
        budget: RateBudget,
        token: Callable[[], str] | None = None,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        use_reserve: bool = False,
        retries: int = 4,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self.budget = budget
        self.token = token
        self.use_reserve = use_reserve  # live sync may dip into the reserve, a backfill may not
        self.retries = retries
        self.requests = 0  # API requests actually sent (retries included)
        self.http = httpx.Client(timeout=timeout_s, transport=transport, headers={"User-Agent": "heavylegs"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> StravaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ---------------------------------------------------------
    def _send(self, method: str, url: str, *, counted: bool, read: bool, **kwargs: Any) -> httpx.Response:
        delay = 1.0
        for attempt in range(self.retries + 1):
            if counted:
                self.budget.acquire(read=read, use_reserve=self.use_reserve)
                self.requests += 1
            try:
                resp = self.http.request(method, url, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt == self.retries:
                    raise StravaError(f"Strava unreachable: {type(exc).__name__}: {exc}") from exc
            else:
                if counted:
                    self.budget.observe(resp.headers)
                if resp.status_code == 429:
                    raise RateLimited(*self.budget.exhaust(read=read))
                if resp.status_code < 500 or attempt == self.retries:
                    return resp
            self.budget.sleep(delay)
            delay = min(delay * 2, 60.0)
        raise AssertionError("unreachable")

    def _api(self, method: str, path: str, *, read: bool = True, **kwargs: Any) -> Any:
        if self.token is None:
            raise StravaError("no access token")
        headers = {"Authorization": f"Bearer {self.token()}"}
        resp = self._send(method, f"{self.api_url}{path}", counted=True, read=read, headers=headers, **kwargs)
        return self._result(resp)

    def _result(self, resp: httpx.Response) -> Any:
        if resp.status_code == 401:
            raise Unauthorized(f"Strava refused the access token: {_message(resp)}", 401)
        if resp.status_code == 404:
            raise NotFound(f"not found on Strava: {_message(resp)}", 404)
        if resp.status_code >= 400:
            raise StravaError(f"Strava answered {resp.status_code}: {_message(resp)}", resp.status_code)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    # ---- athlete data -----------------------------------------------------
    def athlete(self) -> dict[str, Any]:
        body: dict[str, Any] = self._api("GET", "/athlete")
        return body

    def list_activities(self, after: int | None = None, before: int | None = None, page: int = 1, per_page: int = PER_PAGE) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if after is not None:
            params["after"] = int(after)
        if before is not None:
            params["before"] = int(before)
        return list(self._api("GET", "/athlete/activities", params=params))

    def activity(self, activity_id: int) -> dict[str, Any]:
        body: dict[str, Any] = self._api("GET", f"/activities/{int(activity_id)}")
        return body

    def streams(self, activity_id: int) -> dict[str, Any]:
        # Full resolution: no ``resolution`` parameter.
        body: dict[str, Any] = self._api("GET", f"/activities/{int(activity_id)}/streams", params={"keys": STREAM_KEYS, "key_by_type": "true"})
        return body

    # ---- OAuth (not part of the API rate limits) --------------------------
    def _token_call(self, data: dict[str, Any]) -> dict[str, Any]:
        resp = self._send("POST", f"{self.oauth_url}/token", counted=False, read=False, data=data)
        if resp.status_code in (400, 401):
            raise InvalidGrant(f"Strava refused the {data.get('grant_type')}: {_message(resp)}", resp.status_code)
        body: dict[str, Any] = self._result(resp)
        return body

    def exchange_code(self, client_id: str, client_secret: str, code: str) -> dict[str, Any]:
        return self._token_call({"client_id": client_id, "client_secret": client_secret, "code": code, "grant_type": "authorization_code"})

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> dict[str, Any]:
        return self._token_call(
            {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token, "grant_type": "refresh_token"}
        )

    def deauthorize(self, access_token: str) -> None:
        resp = self._send("POST", f"{self.oauth_url}/deauthorize", counted=False, read=False, data={"access_token": access_token})
        if resp.status_code >= 400 and resp.status_code != 401:  # 401: already revoked, which is the goal
            raise StravaError(f"Strava answered {resp.status_code} to deauthorize: {_message(resp)}", resp.status_code)

    # ---- push subscriptions (application credentials, not a user token) ---
    def _app(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._send(method, f"{self.api_url}{path}", counted=True, read=method == "GET", **kwargs)
        return self._result(resp)

    def create_subscription(self, client_id: str, client_secret: str, callback_url: str, verify_token: str) -> dict[str, Any]:
        data = {"client_id": client_id, "client_secret": client_secret, "callback_url": callback_url, "verify_token": verify_token}
        body: dict[str, Any] = self._app("POST", "/push_subscriptions", data=data)
        return body

    def list_subscriptions(self, client_id: str, client_secret: str) -> list[dict[str, Any]]:
        return list(self._app("GET", "/push_subscriptions", params={"client_id": client_id, "client_secret": client_secret}) or [])

    def delete_subscription(self, client_id: str, client_secret: str, subscription_id: int) -> None:
        self._app("DELETE", f"/push_subscriptions/{int(subscription_id)}", params={"client_id": client_id, "client_secret": client_secret})
