"""Backfilling Garmin history, resumable at any point and within Garmin's tight limits.

It lists before it downloads: the range is listed in date windows (paged by
``start`` until a short page), every summary is matched against the store
(runs imported from a Garmin export, a folder or Strava are only linked), and
only the rest is downloaded, one file at a time. Each page is committed with
the listing position and each download with its record, so a rerun -- even
after kill -9 -- continues where the last one stopped and never downloads a
stored activity again.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update

from heavylegs.sources import garmin_records as records
from heavylegs.sources.base import (
    BackfillOptions,
    BackfillReport,
    NeedsReauth,
    Progress,
    SourceEnv,
    SourceError,
    Waiting,
)
from heavylegs.sources.crypto import SecretKeyError
from heavylegs.sources.garmin_api import GarminConfig, source_client
from heavylegs.sources.http import Paused, Stopped, Waiter
from heavylegs.sources.store import mark_status
from heavylegs.sources.tables import garmin_activities, source_backfills
from ingest.garmin.client import GarminClient, GarminError, KeyRejected, RateLimited, Unauthorized

WINDOW_DAYS = 90  # one listing window: big enough to need few requests, small enough to page cheaply


def _windows(since: date | None, until: date) -> list[tuple[date | None, date | None]]:
    """Date windows oldest first; without ``since`` one undated listing of the whole history."""
    if since is None:
        return [(None, None)]
    out: list[tuple[date | None, date | None]] = []
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=WINDOW_DAYS - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def _in_range(source: Any, since: date | None, until: date) -> Any:
    cond = [garmin_activities.c.source_id == source.id]
    if since is not None:
        lo = datetime.combine(since, datetime.min.time(), timezone.utc).timestamp() - 86_400  # local days may start before UTC
        hi = datetime.combine(until + timedelta(days=2), datetime.min.time(), timezone.utc).timestamp()
        cond.append(or_(garmin_activities.c.start_ts.is_(None), and_(garmin_activities.c.start_ts >= lo, garmin_activities.c.start_ts < hi)))
    return and_(*cond)


def _position(engine: Engine, source: Any, key: str) -> tuple[str | None, int, bool]:
    with engine.begin() as conn:
        row = conn.execute(select(source_backfills).where(source_backfills.c.source_id == source.id)).first()
        if row is not None and row.range_key == key:
            return row.window_start, int(row.next_start), bool(row.listed_all)
        values = {"range_key": key, "window_start": None, "next_start": 0, "listed_all": False, "updated_ts": time.time()}
        if row is None:
            conn.execute(insert(source_backfills).values(source_id=source.id, **values))
        else:
            conn.execute(update(source_backfills).where(source_backfills.c.source_id == source.id).values(**values))
    return None, 0, False


def _list(engine: Engine, env: SourceEnv, source: Any, client: GarminClient, spend: Waiter, windows: list[tuple[date | None, date | None]],
          key: str, stop: threading.Event | None, dry_run: bool) -> dict[str, int]:
    """List every window (from the saved position unless ``dry_run``); counts of plan outcomes."""
    cfg, match = GarminConfig.of(env), records.rules(env)
    saved, start, listed_all = (None, 0, False) if dry_run else _position(engine, source, key)
    counts: dict[str, int] = {}
    if listed_all:
        return counts
    keys = [w[0].isoformat() if w[0] else "" for w in windows]
    first = keys.index(saved) if saved in keys else 0
    for i in range(first, len(windows)):
        lo, hi = windows[i]
        start = start if i == first else 0
        while True:
            if stop is not None and stop.is_set():
                raise Stopped()
            page = spend(client.list_activities, start=start, limit=cfg.page_size, start_date=lo, end_date=hi)
            start += len(page.items)
            done = page.short or not page.items
            with engine.begin() as conn:
                for summary in page.items:
                    outcome = records.plan(conn, source, summary, cfg.activity_types, match, record=not dry_run)
                    counts[outcome] = counts.get(outcome, 0) + 1
                if not dry_run:
                    last = done and i == len(windows) - 1
                    nxt = (keys[i + 1], 0) if done and not last else (keys[i], start)
                    conn.execute(update(source_backfills).where(source_backfills.c.source_id == source.id).values(
                        window_start=nxt[0], next_start=nxt[1], listed_all=last, updated_ts=time.time()))
            if done:
                break
    return counts


def run(engine: Engine, env: SourceEnv, source: Any, options: BackfillOptions, *, stop: threading.Event | None = None,
        on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
    until = options.until or datetime.now(timezone.utc).date()
    windows = _windows(options.since, until)
    key = f"{options.since or ''}..{until if options.since else ''}"
    client = source_client(engine, env, source)
    spend = Waiter(wait=options.wait, stop=stop, on_wait=on_wait, rate_limited=(RateLimited,))
    started = time.time()
    report = BackfillReport()
    try:
        if options.dry_run:
            counts = _list(engine, env, source, client, spend, windows, key, stop, dry_run=True)
            wanted = counts.get("listed", 0)
            report = BackfillReport(listed=sum(n for k, n in counts.items() if k != "skipped"), status="planned",
                                    already_present=counts.get("linked", 0) + counts.get("known", 0))
            report.plan = {"list_requests": client.requests, "download_requests": wanted,
                           "seconds_at_current_limits": round(wanted * client.pacer.interval_s, 1)}
            report.requests = client.requests
            return report
        _list(engine, env, source, client, spend, windows, key, stop, dry_run=False)
        with engine.connect() as conn:
            rows = list(conn.execute(select(garmin_activities.c.summary_json).where(
                _in_range(source, options.since, until), garmin_activities.c.state.in_(records.TODO)).order_by(garmin_activities.c.start_ts)))
        todo = [json.loads(r.summary_json) for r in rows]
        records.download_all(engine, env, source, client, todo, spend, stop, on_progress)
    except Paused as exc:
        report = BackfillReport(status="paused", resume_at=exc.resume_at)
    except Stopped:
        report = BackfillReport(status="paused", resume_at=time.time())
    except (KeyRejected, Unauthorized, SecretKeyError) as exc:
        message = records.reauth_message(source.name, exc)
        mark_status(engine, int(source.id), "needs_reauth", message)
        raise NeedsReauth(message) from exc
    except GarminError as exc:  # the position is saved: a rerun continues
        raise SourceError(f"Garmin: {exc}; the position is saved, run the same command again") from exc
    finally:
        client.close()
    report.requests = client.requests
    _tally(engine, source, options.since, until, started, report)
    return report


def _tally(engine: Engine, source: Any, since: date | None, until: date, started: float, report: BackfillReport) -> None:
    where = _in_range(source, since, until)
    with engine.connect() as conn:
        states: dict[str, int] = {
            str(state): int(n)
            for state, n in conn.execute(select(garmin_activities.c.state, func.count()).where(where).group_by(garmin_activities.c.state))
        }
        fetched = conn.execute(select(func.count()).where(where, garmin_activities.c.state == "stored", garmin_activities.c.fetched_ts >= started)).scalar()
        earlier = conn.execute(select(func.count()).where(where, garmin_activities.c.state == "stored", garmin_activities.c.fetched_ts < started)).scalar()
        failed = conn.execute(select(garmin_activities.c.garmin_id, garmin_activities.c.error)
                              .where(where, garmin_activities.c.state.in_(("failed", "unusable"))))
        report.failed = [{"activity_id": int(r.garmin_id), "error": r.error} for r in failed]
    report.listed = sum(int(n) for state, n in states.items() if state != "skipped")
    report.fetched = int(fetched or 0)
    report.already_present = int(states.get("linked", 0)) + int(earlier or 0)
