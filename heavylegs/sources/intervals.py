"""intervals.icu as a source kind: a personal API key, full history, Strava copies skipped.

``connect`` checks the key with one small list request before anything is
stored, and keeps it Fernet-encrypted. ``sync`` lists the last
``intervals.lookback_days`` and downloads the originals the store does not
hold yet; ``backfill`` (``intervals_backfill``) does the same for any range,
resumably. Activities intervals.icu received from Strava are not served
through its API (a stub with ``_note`` in the list, 422 on the file): they
are counted as ``skipped_strava``, never an error.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from heavylegs.sources import intervals_backfill
from heavylegs.sources import remote_records as records
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
from heavylegs.sources.http import Paused, Stopped, Waiter, forget_credentials, save_secret
from heavylegs.sources.intervals_api import (
    KIND,
    IntervalsConfig,
    download_all,
    listed,
    new_client,
    reauth_message,
    remember_pace,
    source_client,
)
from heavylegs.sources.registry import check_name
from heavylegs.sources.store import source_config
from heavylegs.store.activities import get_or_create_athlete
from heavylegs.store.tables import sources
from ingest.intervals.client import (
    IntervalsError,
    KeyRejected,
    NotFound,
    RateLimited,
)


class IntervalsSource:
    kind = KIND

    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        """Check ``key`` for ``athlete_id`` now; store the source (or renew its key) only when intervals.icu accepts it."""
        check_name(name)
        key = str(options.get("key") or "").strip()
        athlete_id = str(options.get("athlete_id") or "").strip().lower()
        if not key:
            raise SourceError("no API key given")
        if not athlete_id or not (athlete_id == "0" or (athlete_id[:1] == "i" and athlete_id[1:].isdigit()) or athlete_id.isdigit()):
            raise SourceError(f"--athlete-id must look like i12345 (shown in intervals.icu under Settings) or 0 for the key's owner, not {athlete_id!r}")
        if athlete_id.isdigit() and athlete_id != "0":
            athlete_id = "i" + athlete_id
        with engine.connect() as conn:
            existing = conn.execute(select(sources).where(sources.c.name == name)).first()
        if existing is not None and existing.kind != KIND:
            raise SourceError(f"a {existing.kind} source is already named {name!r} (choose another --name)")
        client = new_client(env, athlete_id, lambda: key)
        today = datetime.now(timezone.utc).date()
        try:
            Waiter(wait=True, max_wait_s=IntervalsConfig.of(env).sync_max_wait_s, rate_limited=(RateLimited,))(
                client.list_activities, today, today)
        except KeyRejected as exc:
            raise SourceError(f"intervals.icu refused this API key for athlete {athlete_id} ({exc.status}): it is mistyped or was "
                              "deleted, or the athlete id is not the key's. Copy both from intervals.icu (Settings, Developer Settings).") from None
        except NotFound:
            raise SourceError(f"intervals.icu knows no athlete {athlete_id!r}: copy the id from intervals.icu (Settings)") from None
        except Paused as exc:
            raise SourceError(f"intervals.icu asks to wait (rate limit) until {_iso(exc.resume_at)}; try again then") from None
        except (IntervalsError, OSError) as exc:
            raise SourceError(f"could not reach intervals.icu at {client.api_url} to check the key: {exc}") from None
        finally:
            client.close()
        config = {"athlete_id": athlete_id}
        with engine.begin() as conn:
            athlete_row = get_or_create_athlete(conn, athlete)
            if existing is None:
                source_id = int(conn.execute(insert(sources).values(
                    athlete_id=athlete_row, name=name, kind=KIND, config_json=json.dumps(config, sort_keys=True), enabled=True, status="ok",
                    created_ts=datetime.now(timezone.utc).timestamp())).inserted_primary_key[0])  # type: ignore[index]
            else:
                source_id = int(existing.id)
                conn.execute(update(sources).where(sources.c.id == source_id).values(
                    enabled=True, status="ok", last_error=None, config_json=json.dumps(config, sort_keys=True)))
            save_secret(conn, env.store_key, source_id, key)
        verb = "reconnected" if existing is not None else "connected"
        return f"{verb} intervals.icu athlete {athlete_id} as source {name!r} for athlete {athlete!r} (the key is stored encrypted)"

    def sync(self, engine: Engine, env: SourceEnv, source: Row[Any], now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        cfg = IntervalsConfig.of(env)
        result = SyncResult()
        client = source_client(engine, env, source)
        spend = Waiter(wait=True, max_wait_s=cfg.sync_max_wait_s, stop=stop, rate_limited=(RateLimited,))
        today = now.astimezone(timezone.utc).date()
        match = records.rules(env)
        strava = 0
        try:
            items = spend(client.list_activities, today - timedelta(days=cfg.lookback_days), today + timedelta(days=1))
            todo: list[records.Listed] = []
            with engine.begin() as conn:
                for raw in items:
                    item = listed(raw, cfg.activity_types)
                    outcome = records.plan(conn, source, KIND, item, match)
                    result.duplicates += outcome == "linked"
                    strava += outcome == "strava" and item.strava
                    if outcome == "listed":
                        todo.append(item)
            todo.sort(key=lambda i: i.start_ts or 0.0)
            counts, failures = download_all(engine, env, source, client, todo, spend, stop)
            strava += counts.get("strava", 0)
            result.new, result.failed = counts.get("new", 0), len(failures) + counts.get("unusable", 0)
            result.duplicates += counts.get("duplicate", 0) + counts.get("linked", 0)
            result.summary = f"listed_days={cfg.lookback_days} downloads={len(todo)} skipped_strava={strava} requests={client.requests}"
        except (KeyRejected, SecretKeyError) as exc:
            return SyncResult(result.new, result.duplicates, result.failed, "needs_reauth", reauth_message(source.name, exc))
        except Paused as exc:
            result.summary = f"intervals.icu rate limit: the rest waits for the next sync (not before {_iso(exc.resume_at)})"
        except Stopped:
            result.summary = "stopped: the rest waits for the next start"
        except (IntervalsError, SourceError) as exc:
            return SyncResult(result.new, result.duplicates, result.failed + 1, "error", f"intervals.icu: {exc}")
        finally:
            client.close()
            remember_pace(engine, source, client)
        return result

    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, *, stop: threading.Event | None = None,
                 on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
        return intervals_backfill.run(engine, env, source, options, stop=stop, on_progress=on_progress, on_wait=on_wait)

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Row[Any], purge: bool) -> None:
        """Forget the key here; the key itself can only be deleted in intervals.icu."""
        forget_credentials(engine, int(source.id))

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        return {"athlete_id": source_config(source).get("athlete_id")}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

