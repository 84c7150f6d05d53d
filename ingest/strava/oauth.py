"""Strava's OAuth authorize URL and the scopes heavylegs needs."""
from __future__ import annotations

from urllib.parse import urlencode

SCOPE = "read,activity:read_all"
ACTIVITY_SCOPES = ("activity:read", "activity:read_all")


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{int(port)}/oauth/strava/callback"


def authorize_url(oauth_url: str, client_id: str, redirect: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "approval_prompt": "auto",
            "scope": SCOPE,
            "state": state,
        },
        safe=":/,",
    )
    return f"{oauth_url.rstrip('/')}/authorize?{query}"


def granted(scope: str | None) -> set[str]:
    return {s.strip() for s in (scope or "").split(",") if s.strip()}


def missing_scope(scope: str | None) -> str | None:
    """None when activities are readable; otherwise what the user must tick."""
    if granted(scope) & set(ACTIVITY_SCOPES):
        return None
    return (
        "Strava did not grant access to your activities (scope activity:read or activity:read_all is missing; "
        f"granted: {scope or 'nothing'}). Run connect again and keep 'View data about your activities' "
        "(and 'private activities', for runs you keep private) ticked."
    )
