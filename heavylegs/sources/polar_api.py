"""Polar AccessLink for a source: settings, client credentials, exercises read defensively, a client with the stored token."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from heavylegs.sources.base import SourceEnv, SourceError
from heavylegs.sources.http import load_secret
from heavylegs.sources.remote_records import Listed
from ingest.polar.client import PolarClient

KIND = "polar"
CALLBACK_PATH = "/oauth/polar/callback"
REAUTH_HINT = "Polar no longer accepts the access token (it was revoked or expired): run `heavylegs connect polar --name {name}` again; the source keeps its activities"
CONSENT_HINT = ("Polar refuses the data (403): the Polar account has not accepted Polar's data-sharing consents. Sign in at "
                "https://flow.polar.com (or https://account.polar.com), accept the pending consents shown there "
                "(Settings > Privacy lists them), then run `heavylegs sync {name}`")
NO_HISTORY = ("Polar AccessLink only lists exercises uploaded in the last 30 days; there is no history through the API. For older runs, "
              "request your data in Polar Flow (https://account.polar.com > 'Download your data'), unzip the export and run "
              "`heavylegs import PATH`: runs already there are never downloaded again.")


@dataclass(frozen=True)
class PolarConfig:
    client_id: str
    oauth_url: str
    token_url: str
    api_url: str
    callback_port: int
    reserve_fraction: float
    sync_max_wait_s: float
    request_timeout_s: float

    @classmethod
    def of(cls, env: SourceEnv) -> PolarConfig:
        p = env.polar
        return cls(str(p.client_id).strip(), p.oauth_url, p.token_url, p.api_url, int(p.callback_port), float(p.reserve_fraction),
                   float(p.sync_max_wait_s), float(p.request_timeout_s))

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.callback_port}{CALLBACK_PATH}"

    def authorize_url(self, state: str) -> str:
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri, "state": state})
        return f"{self.oauth_url}{'&' if '?' in self.oauth_url else '?'}{query}"


def client_credentials(env: SourceEnv) -> tuple[str, str]:
    client_id = PolarConfig.of(env).client_id
    secret = env.secrets.read(env.polar, "client_secret").strip()
    if not client_id or not secret:
        raise SourceError("Polar is not configured: create an API client at https://admin.polaraccesslink.com and set polar.client_id "
                          "and polar.client_secret (or client_secret_file / client_secret_env)")
    return client_id, secret


def new_client(env: SourceEnv, token: str | None = None) -> PolarClient:
    cfg = PolarConfig.of(env)
    return PolarClient(cfg.api_url, (lambda: token) if token else None, timeout_s=cfg.request_timeout_s, reserve_fraction=cfg.reserve_fraction)


def source_client(engine: Engine, env: SourceEnv, source: Any) -> PolarClient:
    cfg = PolarConfig.of(env)
    source_id = int(source.id)

    def token() -> str:
        secret = load_secret(engine, env.store_key, source_id)
        if secret is None:
            raise SourceError(f"no Polar token stored for {source.name!r}: run `heavylegs connect polar --name {source.name}`")
        return secret

    return PolarClient(cfg.api_url, token, timeout_s=cfg.request_timeout_s, reserve_fraction=cfg.reserve_fraction)


_ISO_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def duration_s(text: Any) -> float | None:
    """Seconds of an ISO 8601 duration such as ``PT1H2M3S`` or ``PT2832.5S``; None when unreadable or zero."""
    m = _ISO_DURATION.match(str(text or "").strip().upper())
    if m is None:
        return None
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    total = d * 86400 + h * 3600 + mi * 60 + s
    return total if total > 0 else None


def start_ts(ex: dict[str, Any]) -> float | None:
    """UTC seconds: ``start_time`` is local wall time, ``start_time_utc_offset`` its offset in minutes."""
    text = ex.get("start_time")
    if not isinstance(text, str) or not text:
        return None
    try:
        local = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if local.tzinfo is not None:
        return local.timestamp()
    try:
        offset_min = float(ex.get("start_time_utc_offset") or 0)
    except (TypeError, ValueError):
        offset_min = 0.0
    return (local.replace(tzinfo=timezone.utc) - timedelta(minutes=offset_min)).timestamp()


def listed(ex: dict[str, Any]) -> Listed:
    """A list entry; every exercise is downloaded: the sport comes from the file (Polar lists some runs as ``OTHER``)."""
    try:
        distance = float(ex.get("distance") or 0) or None
    except (TypeError, ValueError):
        distance = None
    duration = duration_s(ex.get("duration"))
    return Listed(str(ex["id"]), start_ts(ex), [duration] if duration else [], distance, str(ex.get("sport") or ""), ex)


def file_suffix(data: bytes, fmt: str) -> str:
    return f".{fmt}" + (".gz" if data[:2] == b"\x1f\x8b" else "")
