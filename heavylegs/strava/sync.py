"""The live sync: new activities since the cursor, plus pending webhook events."""
from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from heavylegs.sources.base import SourceEnv, SyncResult
from heavylegs.strava.records import rules, settle, sport_types
from heavylegs.strava.tokens import NeedsReauth
from heavylegs.strava.webhooks import process_events
from ingest.strava import mapping
from ingest.strava.budget import BudgetExhausted
from ingest.strava.client import StravaClient, StravaError, Unauthorized


def sync(client: StravaClient, engine: Engine, env: SourceEnv, source: Any, now: datetime, stop: threading.Event | None = None) -> SyncResult:
    """Webhook events first, then every page after the cursor until an empty one (or until ``stop`` is set)."""
    result = SyncResult()
    try:
        events = process_events(client, engine, env, source)
        if events.get("deauthorized"):
            return SyncResult(status="needs_reauth", error="the athlete revoked access on Strava", summary="deauthorized")
        result.new += events.get("new", 0)
        cursor = int(source.cursor) if source.cursor else int(now.timestamp()) - 86_400 * env.strava.initial_sync_days
        # One second of overlap: activities starting in the cursor's own second are
        # listed again and recognised as known, never missed.
        after, page = cursor - 1, 1
        while stop is None or not stop.is_set():
            items = client.list_activities(after=after, page=page)
            if not items:
                break
            for summary in items:
                start = mapping.parse_time(summary["start_date"]).timestamp()
                outcome = settle(engine, source, summary, client, sport_types(env), rules(env), cursor=max(cursor, start))
                cursor = max(cursor, int(start))
                result.new += outcome == "new"
                result.duplicates += outcome in ("linked", "duplicate")
            page += 1
    except (NeedsReauth, Unauthorized) as exc:
        return SyncResult(result.new, result.duplicates, result.failed, "needs_reauth", str(exc), "connect strava again")
    except BudgetExhausted as exc:
        result.summary = f"rate limit: paused until {time.strftime('%H:%M', time.gmtime(exc.resume_at))} UTC"
        return result
    except StravaError as exc:
        return SyncResult(result.new, result.duplicates, result.failed + 1, "error", str(exc))
    result.summary = f"requests={client.requests}"
    return result
