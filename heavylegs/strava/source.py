"""Strava as a source kind: the plug-in face of this package (OAuth, sync, backfill, webhooks).

It lives here, not in ``heavylegs.sources``, because the Strava internals use
the sources' shared pieces (``base``, ``http``, ``crypto``), so ``sources`` stays
below ``strava``. This module only adapts them to ``sources.base.Source``
so the service and the CLI treat Strava like any other kind. ``overview`` is
what ``heavylegs strava status`` shows.
"""
from __future__ import annotations

import threading
import webbrowser
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Row, func, select

from heavylegs.sources.base import (
    BackfillOptions,
    BackfillReport,
    Echo,
    NeedsReauth,
    Progress,
    SourceEnv,
    SourceError,
    SyncResult,
    Waiting,
)
from heavylegs.sources.crypto import SecretKeyError
from heavylegs.sources.registry import check_name
from heavylegs.store.tables import athletes, sources
from heavylegs.strava import backfill
from heavylegs.strava.connect import begin
from heavylegs.strava.loopback import CallbackServer
from heavylegs.strava.sync import sync as sync_recent
from heavylegs.strava.tables import strava_activities, strava_subscription, strava_tokens
from heavylegs.strava.tokens import NeedsReauth as StravaNeedsReauth
from heavylegs.strava.tokens import NotConfigured, credentials, delete_tokens, load_tokens, source_client
from ingest.strava.client import StravaError


def _day_ts(value: Any, shift_days: int = 0) -> int:
    if value is None:
        return 0
    start = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return int((start + timedelta(days=shift_days)).timestamp())


class StravaSource:
    kind = "strava"

    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        """The OAuth flow: open (or print) the authorize URL and wait for the redirect on 127.0.0.1."""
        check_name(name)
        state, url = begin(engine, env, athlete, name)  # NotConfigured propagates: the CLI makes it a usage error
        server = CallbackServer(engine, env, state)
        if not server.start():
            echo(f"port {env.strava.callback_port} is in use: waiting for the heavylegs service to receive the callback")
        if options.get("no_browser") or not webbrowser.open(url):
            echo("Open this URL in a browser to authorize heavylegs on Strava:")
            echo(url)
        else:
            echo("Authorize heavylegs in the browser window that just opened.")
        outcome = server.wait(float(options.get("timeout_s", 300.0)))
        if not outcome.ok:
            raise SourceError(outcome.message)
        return outcome.message

    def sync(self, engine: Engine, env: SourceEnv, source: Any, now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        try:
            credentials(env)
        except NotConfigured as exc:
            return SyncResult(status="error", error=str(exc))
        client, _ = source_client(engine, env, int(source.id), use_reserve=True)
        try:
            return sync_recent(client, engine, env, source, now, stop)
        except (StravaNeedsReauth, SecretKeyError) as exc:
            return SyncResult(status="needs_reauth", error=str(exc))
        finally:
            client.close()

    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, *, stop: threading.Event | None = None,
                 on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
        try:
            credentials(env)
        except NotConfigured as exc:
            raise SourceError(str(exc)) from exc
        client, _ = source_client(engine, env, int(source.id), use_reserve=False)
        try:
            return backfill.run(engine, env, source, client, after_ts=max(0, _day_ts(options.since) - 1),
                                before_ts=_day_ts(options.until, 1), wait=options.wait, dry_run=options.dry_run,
                                on_progress=on_progress, on_wait=on_wait)
        except StravaNeedsReauth as exc:
            raise NeedsReauth(str(exc)) from exc
        finally:
            client.close()

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Any, purge: bool) -> None:
        """Revoke access on Strava (best effort) and forget the tokens."""
        client, manager = source_client(engine, env, int(source.id))
        try:
            with engine.connect() as conn:
                stored = load_tokens(conn, env.store_key, int(source.id))
            if stored is not None:
                # A fresh token if possible: deauthorize refuses an expired one.
                token = manager.access_token() if credentials_ok(env) else stored.access_token
                client.deauthorize(token)
        except (StravaNeedsReauth, StravaError, SecretKeyError):
            pass  # already revoked or unreachable: forgetting the tokens still disconnects us
        finally:
            client.close()
            with engine.begin() as conn:
                delete_tokens(conn, int(source.id))

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        return {}


def credentials_ok(env: SourceEnv) -> bool:
    try:
        credentials(env)
        return True
    except NotConfigured:
        return False


def overview(engine: Engine, env: SourceEnv) -> dict[str, Any]:
    """What ``heavylegs strava status`` shows: each Strava source with its token expiry and stored runs, and the push subscription."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(sources, athletes.c.name.label("athlete"), strava_tokens.c.expires_at, strava_tokens.c.scope)
            .join(athletes, athletes.c.id == sources.c.athlete_id)
            .outerjoin(strava_tokens, strava_tokens.c.source_id == sources.c.id)
            .where(sources.c.kind == "strava")
        ).all()
        counts: dict[int, int] = dict(conn.execute(select(strava_activities.c.source_id, func.count()).where(strava_activities.c.state.in_(("stored", "linked")))
                                   .group_by(strava_activities.c.source_id)).all())
        sub = conn.execute(select(strava_subscription)).first()
    out: dict[str, Any] = {"sources": [], "subscription": None}
    for r in rows:
        expires = None if r.expires_at is None else datetime.fromtimestamp(r.expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        out["sources"].append({"name": r.name, "athlete": r.athlete, "status": r.status, "enabled": bool(r.enabled), "last_error": r.last_error,
                               "token_expires": expires, "scope": r.scope, "activities": int(counts.get(r.id, 0))})
    if sub is not None:
        out["subscription"] = {"subscription_id": sub.subscription_id, "callback_url": sub.callback_url}
    return out
