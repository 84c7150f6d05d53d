"""Polar AccessLink v3 as a source kind.

``connect`` runs the OAuth code flow with a loopback callback
(``polar_oauth``), exchanges the code at once (HTTP Basic with the client
credentials), registers the user with our client (409: already registered)
and stores the access token Fernet-encrypted: it lasts about a year and there
is no refresh token, so a revoked one means connecting again
(``needs_reauth``). ``sync`` lists what Polar offers -- the exercises uploaded
in the last 30 days -- and downloads the originals the store does not hold yet
(FIT, else TCX or GPX), the sport decided by the file. There is no history
through the API, so ``backfill`` explains Polar Flow's data export instead.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
import webbrowser
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from heavylegs.sources import remote_records as records
from heavylegs.sources.base import (
    BackfillOptions,
    BackfillReport,
    Echo,
    NotSupported,
    Progress,
    SourceEnv,
    SourceError,
    SyncResult,
    Waiting,
)
from heavylegs.sources.crypto import SecretKeyError
from heavylegs.sources.http import Paused, Stopped, Waiter, forget_credentials, save_secret
from heavylegs.sources.polar_api import (
    CALLBACK_PATH,
    CONSENT_HINT,
    KIND,
    NO_HISTORY,
    REAUTH_HINT,
    PolarConfig,
    client_credentials,
    file_suffix,
    listed,
    new_client,
    source_client,
)
from heavylegs.sources.polar_oauth import CallbackServer, Outcome
from heavylegs.sources.registry import check_name
from heavylegs.sources.store import source_config
from heavylegs.store.activities import get_or_create_athlete
from heavylegs.store.tables import sources
from ingest.polar.client import PolarClient
from ingest.polar.errors import Forbidden, NotFound, PolarError, RateLimited, Unauthorized


def download_all(engine: Engine, env: SourceEnv, source: Any, client: PolarClient, todo: list[records.Listed], spend: Waiter,
                 stop: threading.Event | None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    def download(remote_id: str) -> tuple[bytes, str]:
        data, fmt = spend(client.download, remote_id)
        return data, file_suffix(data, fmt)

    return records.download_all(engine, env, source, KIND, todo, download, stop=stop, fatal=(Unauthorized, Forbidden), gone=(NotFound,),
                                strava=(), soft=(PolarError,))


def import_exercise(engine: Engine, env: SourceEnv, source: Any, exercise_id: str) -> str:
    """Fetch one exercise by id (a webhook's ``entity_id``) and import it unless stored; the outcome."""
    client = source_client(engine, env, source)
    spend = Waiter(wait=False, rate_limited=(RateLimited,))  # a webhook never waits: the next sync picks it up
    try:
        item = listed(spend(client.exercise, exercise_id))
        with engine.begin() as conn:
            outcome = records.plan(conn, source, KIND, item, records.rules(env))
        if outcome != "listed":
            return outcome
        counts, failures = download_all(engine, env, source, client, [item], spend, None)
        return next(iter(counts), "failed")
    finally:
        client.close()


class PolarSource:
    kind = KIND

    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        """The OAuth code flow on a loopback callback; the source is stored only when Polar accepts the code."""
        check_name(name)
        cfg = PolarConfig.of(env)
        client_id, secret = client_credentials(env)
        with engine.connect() as conn:
            existing = conn.execute(select(sources).where(sources.c.name == name)).first()
        if existing is not None and existing.kind != KIND:
            raise SourceError(f"a {existing.kind} source is already named {name!r} (choose another --name)")
        state = secrets.token_urlsafe(24)
        done: dict[str, str] = {}

        def handle(params: dict[str, str]) -> Outcome:
            if params.get("error"):
                return Outcome(False, f"Polar authorization was not granted ({params['error']})")
            try:
                done.update(self._finish(engine, env, name, athlete, existing, client_id, secret, params.get("code") or ""))
            except SourceError as exc:
                return Outcome(False, str(exc))
            return Outcome(True, f"connected Polar as source {name!r} for athlete {athlete!r}")

        server = CallbackServer(cfg.callback_port, CALLBACK_PATH, state, handle)
        if not server.start():
            raise SourceError(f"port {cfg.callback_port} (polar.callback_port) is in use: stop what listens there or choose another port "
                              "(and register the matching redirect URL with your Polar API client)")
        url = cfg.authorize_url(state)
        if options.get("no_browser") or not webbrowser.open(url):
            echo("Open this URL in a browser to authorize heavylegs on Polar Flow:")
            echo(url)
        else:
            echo("Authorize heavylegs in the browser window that just opened.")
        outcome = server.wait(float(options.get("timeout_s") or 300.0))
        if not outcome.ok:
            raise SourceError(outcome.message)
        verb = "reconnected" if existing is not None else "connected"
        registered = "registered with your Polar API client" if done.get("registered") == "yes" else "already registered with your Polar API client"
        return (f"{verb} Polar as source {name!r} for athlete {athlete!r} (the token is stored encrypted; {registered}).\n"
                f"Note: {NO_HISTORY}")

    def _finish(self, engine: Engine, env: SourceEnv, name: str, athlete: str, existing: Any, client_id: str, secret: str,
                code: str) -> dict[str, str]:
        cfg = PolarConfig.of(env)
        client = new_client(env)
        try:
            body = client.exchange_code(cfg.token_url, client_id, secret, code, cfg.redirect_uri)
        except (PolarError, OSError) as exc:
            raise SourceError(f"code exchange failed: {exc}") from None
        finally:
            client.close()
        token, user_id = str(body["access_token"]), str(body.get("x_user_id") or "")
        member_id = f"heavylegs-{name}-{secrets.token_hex(4)}" if existing is None else str(source_config(existing).get("member_id") or f"heavylegs-{name}")
        client = new_client(env, token)
        try:
            fresh = client.register(member_id)
        except Forbidden:
            raise SourceError(CONSENT_HINT.format(name=name).replace("run `heavylegs sync", "run `heavylegs connect polar --name")) from None
        except (PolarError, OSError) as exc:
            raise SourceError(f"registering the user with Polar failed: {exc}") from None
        finally:
            client.close()
        expires = time.time() + float(body.get("expires_in") or 365 * 86400)
        config = {"polar_user_id": user_id, "member_id": member_id,
                  "token_expires": datetime.fromtimestamp(expires, timezone.utc).date().isoformat()}
        with engine.begin() as conn:
            athlete_id = get_or_create_athlete(conn, athlete)
            if existing is None:
                source_id = int(conn.execute(insert(sources).values(
                    athlete_id=athlete_id, name=name, kind=KIND, config_json=json.dumps(config, sort_keys=True), enabled=True, status="ok",
                    created_ts=time.time())).inserted_primary_key[0])  # type: ignore[index]
            else:
                source_id = int(existing.id)
                conn.execute(update(sources).where(sources.c.id == source_id).values(
                    enabled=True, status="ok", last_error=None, config_json=json.dumps(config, sort_keys=True)))
            save_secret(conn, env.store_key, source_id, token)
        return {"registered": "yes" if fresh else "no"}

    def sync(self, engine: Engine, env: SourceEnv, source: Row[Any], now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        cfg = PolarConfig.of(env)
        result = SyncResult()
        client = source_client(engine, env, source)
        spend = Waiter(wait=True, max_wait_s=cfg.sync_max_wait_s, stop=stop, rate_limited=(RateLimited,))
        match = records.rules(env)
        try:
            todo: list[records.Listed] = []
            exercises = spend(client.list_exercises)
            with engine.begin() as conn:
                for ex in exercises:
                    item = listed(ex)
                    outcome = records.plan(conn, source, KIND, item, match)
                    result.duplicates += outcome == "linked"
                    if outcome == "listed":
                        todo.append(item)
            todo += [t for t in records.todo_rows(engine, source, listed) if t.remote_id not in {i.remote_id for i in todo}]
            todo.sort(key=lambda i: i.start_ts or 0.0)
            counts, failures = download_all(engine, env, source, client, todo, spend, stop)
            result.new, result.failed = counts.get("new", 0), len(failures) + counts.get("unusable", 0)
            result.duplicates += counts.get("duplicate", 0) + counts.get("linked", 0)
            result.summary = f"listed={len(exercises)} downloads={len(todo)} requests={client.requests}"
        except (Unauthorized, SecretKeyError) as exc:
            return SyncResult(result.new, result.duplicates, result.failed, "needs_reauth", f"{exc}; " + REAUTH_HINT.format(name=source.name))
        except Forbidden:
            return SyncResult(result.new, result.duplicates, result.failed, "error", CONSENT_HINT.format(name=source.name))
        except Paused as exc:
            when = datetime.fromtimestamp(exc.resume_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            result.summary = f"Polar rate limit: the rest waits for the next sync (not before {when})"
        except Stopped:
            result.summary = "stopped: the rest waits for the next start"
        except (PolarError, SourceError) as exc:
            return SyncResult(result.new, result.duplicates, result.failed + 1, "error", f"Polar: {exc}")
        finally:
            client.close()
        return result

    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, *, stop: threading.Event | None = None,
                 on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
        raise NotSupported(f"{NO_HISTORY} (`heavylegs sync {source.name}` fetches the last 30 days.)")

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Row[Any], purge: bool) -> None:
        """De-register the user from our client (best effort: the token may be revoked already), then forget the token."""
        user_id = str(source_config(source).get("polar_user_id") or "")
        if user_id:
            try:
                client = source_client(engine, env, source)
                try:
                    client.send("DELETE", f"/v3/users/{user_id}")
                finally:
                    client.close()
            except (PolarError, SourceError, SecretKeyError, OSError):
                pass
        forget_credentials(engine, int(source.id))

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        config = source_config(source)
        return {k: config[k] for k in ("polar_user_id", "token_expires") if config.get(k)}
