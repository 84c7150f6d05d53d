"""Strava as a source kind for the service (``heavylegs.service.sources.get_kind``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from heavylegs.service.sources import SyncResult
from heavylegs.settings import Settings
from heavylegs.strava.api import NotConfigured, credentials, source_client
from heavylegs.strava.crypto import SecretKeyError
from heavylegs.strava.sync import sync
from heavylegs.strava.tokens import NeedsReauth, delete_tokens, load_tokens
from ingest.strava.client import StravaError


class StravaKind:
    kind = "strava"

    def sync(self, engine: Engine, settings: Settings, source: Any, now: datetime) -> SyncResult:
        try:
            credentials(settings)
        except NotConfigured as exc:
            return SyncResult(status="error", error=str(exc))
        client, _ = source_client(engine, settings, int(source.id), use_reserve=True)
        try:
            return sync(client, engine, settings, source, now)
        except (NeedsReauth, SecretKeyError) as exc:
            return SyncResult(status="needs_reauth", error=str(exc))
        finally:
            client.close()

    def on_disconnect(self, engine: Engine, settings: Settings, source: Any, purge: bool) -> None:
        """Revoke access on Strava (best effort) and forget the tokens."""
        client, manager = source_client(engine, settings, int(source.id))
        try:
            with engine.connect() as conn:
                stored = load_tokens(conn, settings, int(source.id))
            if stored is not None:
                # A fresh token if possible: deauthorize refuses an expired one.
                token = manager.access_token() if credentials_ok(settings) else stored.access_token
                client.deauthorize(token)
        except (NeedsReauth, StravaError, SecretKeyError):
            pass  # already revoked or unreachable: forgetting the tokens still disconnects us
        finally:
            client.close()
            with engine.begin() as conn:
                delete_tokens(conn, int(source.id))


def credentials_ok(settings: Settings) -> bool:
    try:
        credentials(settings)
        return True
    except NotConfigured:
        return False

