"""Garmin Connect through Garmin's official Personal API, as a source kind.

``connect`` exchanges the user's personal API key at once (a bad key is
refused before anything is stored) and keeps it Fernet-encrypted. ``sync``
lists the last ``garmin.lookback_days`` and downloads the original files of
the runs the store does not hold yet; ``backfill`` (``garmin_backfill``) does
the same for any range, resumably. A key Garmin refuses sets the source to
``needs_reauth``; the source_stalled alert then tells the user what to do.
"""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from heavylegs.sources import garmin_backfill
from heavylegs.sources import garmin_records as records
from heavylegs.sources.base import (
    BackfillOptions,
    BackfillReport,
    Echo,
    Progress,
    SourceEnv,
    SourceError,
    SyncResult,
    Waiting,
)
from heavylegs.sources.crypto import SecretKeyError
from heavylegs.sources.garmin_api import GarminConfig, new_client, parse_day, source_client
from heavylegs.sources.http import (
    CachedToken,
    Paused,
    Stopped,
    Waiter,
    forget_credentials,
    save_last_request,
    save_secret,
    save_token,
)
from heavylegs.sources.registry import check_name
from heavylegs.sources.store import source_config
from heavylegs.store.activities import get_or_create_athlete
from heavylegs.store.tables import sources
from ingest.garmin import mapping
from ingest.garmin.client import GarminError, KeyRejected, RateLimited, Unauthorized

KIND = "garmin"


class GarminSource:
    kind = KIND

    # ---- connect ---------------------------------------------------------
    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        """Exchange ``key`` now; store the source (or renew a known one's key) only when Garmin accepts it."""
        check_name(name)
        key = str(options.get("key") or "").strip()
        expires: date | None = options.get("key_expires")
        if not key:
            raise SourceError("no API key given")
        existing = _row(engine, name)
        if existing is not None and existing.kind != KIND:
            raise SourceError(f"a {existing.kind} source is already named {name!r} (choose another --name)")
        client = new_client(env, lambda: key)
        spend = Waiter(wait=True, max_wait_s=GarminConfig.of(env).sync_max_wait_s, rate_limited=(RateLimited,))
        try:
            token = spend(client.exchange)
        except KeyRejected as exc:
            raise SourceError(f"Garmin refused this API key ({exc.status}): it is mistyped, expired or revoked. "
                              "Create a new key in Garmin Connect and try again.") from None
        except Paused as exc:
            raise SourceError(f"Garmin asks to wait (rate limit) until {_iso(exc.resume_at)}; try again then") from None
        except (GarminError, OSError) as exc:
            raise SourceError(f"could not reach Garmin at {client.api_url} to check the key: {exc}") from None
        finally:
            client.close()
        with engine.begin() as conn:
            athlete_id = get_or_create_athlete(conn, athlete)
            config = {} if existing is None else source_config(existing)
            config = {k: v for k, v in config.items() if k != "key_expires"} | ({"key_expires": expires.isoformat()} if expires else {})
            if existing is None:
                source_id = int(conn.execute(insert(sources).values(
                    athlete_id=athlete_id, name=name, kind=KIND, config_json=json.dumps(config, sort_keys=True), enabled=True, status="ok",
                    created_ts=_now_ts())).inserted_primary_key[0])  # type: ignore[index]
            else:
                source_id = int(existing.id)
                conn.execute(update(sources).where(sources.c.id == source_id).values(
                    enabled=True, status="ok", last_error=None, config_json=json.dumps(config, sort_keys=True)))
            save_secret(conn, env.store_key, source_id, key)
        save_token(engine, env.store_key, source_id, CachedToken(token.jwt, token.expires_at, token.issued_at))
        if client.pacer.last is not None:
            save_last_request(engine, source_id, client.pacer.last)
        verb = "reconnected" if existing is not None else "connected"
        note = f"; the key expires on {expires.isoformat()}" if expires else "; tip: add --key-expires YYYY-MM-DD to be warned a week before the key expires"
        return f"{verb} Garmin as source {name!r} for athlete {athlete!r} (the key is stored encrypted){note}"

    # ---- sync ------------------------------------------------------------
    def sync(self, engine: Engine, env: SourceEnv, source: Row[Any], now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        cfg = GarminConfig.of(env)
        result = SyncResult()
        try:
            client = source_client(engine, env, source)
        except SecretKeyError as exc:
            return SyncResult(status="needs_reauth", error=records.reauth_message(source.name, exc))
        spend = Waiter(wait=True, max_wait_s=cfg.sync_max_wait_s, stop=stop, rate_limited=(RateLimited,))
        today = now.astimezone(timezone.utc).date()
        first, last = today - timedelta(days=cfg.lookback_days), today + timedelta(days=1)  # +1: the athlete's day may be ahead of UTC
        todo: list[dict[str, Any]] = []
        try:
            start = 0
            while stop is None or not stop.is_set():
                page = spend(client.list_activities, start=start, limit=cfg.page_size, start_date=first, end_date=last)
                with engine.begin() as conn:
                    for summary in page.items:
                        outcome = records.plan(conn, source, summary, cfg.activity_types, records.rules(env))
                        result.duplicates += outcome == "linked"
                        if outcome == "listed":
                            todo.append(summary)
                if page.short or not page.items:
                    break
                start += len(page.items)
            todo.sort(key=lambda s: mapping.start_ts(s) or 0.0)
            counts, failures = records.download_all(engine, env, source, client, todo, spend, stop)
            result.new, result.failed = counts.get("new", 0), len(failures) + counts.get("unusable", 0)
            result.duplicates += counts.get("duplicate", 0) + counts.get("linked", 0)
            result.summary = f"listed_days={cfg.lookback_days} downloads={len(todo)} requests={client.requests}"
        except (KeyRejected, Unauthorized, SourceError, SecretKeyError) as exc:
            return SyncResult(result.new, result.duplicates, result.failed, "needs_reauth", records.reauth_message(source.name, exc))
        except Paused as exc:
            result.summary = f"Garmin rate limit: the rest waits for the next sync (not before {_iso(exc.resume_at)})"
        except Stopped:
            result.summary = "stopped: the rest waits for the next start"
        except GarminError as exc:
            return SyncResult(result.new, result.duplicates, result.failed + 1, "error", f"Garmin: {exc}")
        finally:
            client.close()
        return result

    # ---- backfill, disconnect, status --------------------------------------
    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, *, stop: threading.Event | None = None,
                 on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
        return garmin_backfill.run(engine, env, source, options, stop=stop, on_progress=on_progress, on_wait=on_wait)

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Row[Any], purge: bool) -> None:
        """Forget the key and token here; the key itself can only be deleted in Garmin Connect."""
        forget_credentials(engine, int(source.id))

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        expires = parse_day(source_config(source).get("key_expires"))
        return {"key_expires": expires.isoformat()} if expires else {}


def _row(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.name == name)).first()


def _now_ts() -> float:
    return datetime.now(timezone.utc).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

