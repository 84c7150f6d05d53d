"""Backfilling intervals.icu history, resumable at any point.

intervals.icu keeps the whole history, listed by date without paging, so the
range is listed in yearly windows, oldest first. Every entry is matched
against the store before anything is downloaded (runs already imported from
files, Garmin or Strava are only linked), Strava stubs are counted and
skipped, and the rest is downloaded one file at a time. Each window is
committed with the listing position and each download with its record, so a
rerun -- even after kill -9 -- continues where the last one stopped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update

from heavylegs.sources import remote_records as records
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
from heavylegs.sources.http import Paused, Stopped, Waiter
from heavylegs.sources.intervals_api import (
    KIND,
    IntervalsConfig,
    download_all,
    listed,
    reauth_message,
    remember_pace,
    source_client,
)
from heavylegs.sources.store import mark_status
from heavylegs.sources.tables import remote_activities, source_backfills
from ingest.intervals.client import IntervalsError, KeyRejected, RateLimited

WINDOW_DAYS = 365  # one list request per year of history: no paging, and a year of entries is a small answer
EARLIEST = date(2000, 1, 1)  # without --since: older than any GPS watch file worth analysing


@dataclass
class IntervalsBackfillReport(BackfillReport):
    skipped_strava: int = 0  # Strava-sourced activities intervals.icu cannot serve through its API


def _windows(since: date, until: date) -> list[tuple[date, date]]:
    out, start = [], since
    while start <= until:
        end = min(until, start + timedelta(days=WINDOW_DAYS - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def _in_range(source: Any, since: date, until: date) -> Any:
    lo = datetime.combine(since, datetime.min.time(), timezone.utc).timestamp() - 86_400  # local days may start before UTC
    hi = datetime.combine(until + timedelta(days=2), datetime.min.time(), timezone.utc).timestamp()
    return and_(remote_activities.c.source_id == source.id,
                or_(remote_activities.c.start_ts.is_(None), and_(remote_activities.c.start_ts >= lo, remote_activities.c.start_ts < hi)))


def _position(engine: Engine, source: Any, key: str) -> tuple[str | None, bool]:
    with engine.begin() as conn:
        row = conn.execute(select(source_backfills).where(source_backfills.c.source_id == source.id)).first()
        if row is not None and row.range_key == key:
            return row.window_start, bool(row.listed_all)
        values = {"range_key": key, "window_start": None, "next_start": 0, "listed_all": False, "updated_ts": time.time()}
        if row is None:
            conn.execute(insert(source_backfills).values(source_id=source.id, **values))
        else:
            conn.execute(update(source_backfills).where(source_backfills.c.source_id == source.id).values(**values))
    return None, False


def _list(engine: Engine, env: SourceEnv, source: Any, client: Any, spend: Waiter, windows: list[tuple[date, date]], key: str,
          stop: threading.Event | None, dry_run: bool) -> dict[str, int]:
    types, match = IntervalsConfig.of(env).activity_types, records.rules(env)
    saved, listed_all = (None, False) if dry_run else _position(engine, source, key)
    counts: dict[str, int] = {}
    if listed_all:
        return counts
    keys = [w[0].isoformat() for w in windows]
    for i in range(keys.index(saved) if saved in keys else 0, len(windows)):
        if stop is not None and stop.is_set():
            raise Stopped()
        items = spend(client.list_activities, *windows[i])
        with engine.begin() as conn:
            for raw in items:
                outcome = records.plan(conn, source, KIND, listed(raw, types), match, record=not dry_run)
                counts[outcome] = counts.get(outcome, 0) + 1
            if not dry_run:
                last = i == len(windows) - 1
                conn.execute(update(source_backfills).where(source_backfills.c.source_id == source.id).values(
                    window_start=None if last else keys[i + 1], listed_all=last, updated_ts=time.time()))
    return counts


def run(engine: Engine, env: SourceEnv, source: Any, options: BackfillOptions, *, stop: threading.Event | None = None,
        on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
    until = options.until or datetime.now(timezone.utc).date()
    since = options.since or EARLIEST
    windows = _windows(since, until)
    key = f"{since}..{until}"
    types = IntervalsConfig.of(env).activity_types
    client = source_client(engine, env, source)
    spend = Waiter(wait=options.wait, stop=stop, on_wait=on_wait, rate_limited=(RateLimited,))
    started = time.time()
    report = IntervalsBackfillReport()
    try:
        if options.dry_run:
            counts = _list(engine, env, source, client, spend, windows, key, stop, dry_run=True)
            wanted = counts.get("listed", 0)
            report = IntervalsBackfillReport(listed=sum(n for k, n in counts.items() if k != "skipped"), status="planned",
                                             already_present=counts.get("linked", 0) + counts.get("known", 0),
                                             skipped_strava=counts.get("strava", 0))
            report.plan = {"list_requests": client.requests, "download_requests": wanted,
                           "seconds_at_current_limits": round(wanted * client.pacer.interval_s, 1)}
            report.requests = client.requests
            return report
        _list(engine, env, source, client, spend, windows, key, stop, dry_run=False)
        todo = records.todo_rows(engine, source, lambda raw: listed(raw, types), _in_range(source, since, until))
        download_all(engine, env, source, client, todo, spend, stop, on_progress)
    except Paused as exc:
        report = IntervalsBackfillReport(status="paused", resume_at=exc.resume_at)
    except Stopped:
        report = IntervalsBackfillReport(status="paused", resume_at=time.time())
    except (KeyRejected, SecretKeyError) as exc:
        message = reauth_message(source.name, exc)
        mark_status(engine, int(source.id), "needs_reauth", message)
        raise NeedsReauth(message) from exc
    except IntervalsError as exc:  # the position is saved: a rerun continues
        raise SourceError(f"intervals.icu: {exc}; the position is saved, run the same command again") from exc
    finally:
        client.close()
        remember_pace(engine, source, client)
    report.requests = client.requests
    _tally(engine, source, since, until, started, report)
    return report


def _tally(engine: Engine, source: Any, since: date, until: date, started: float, report: IntervalsBackfillReport) -> None:
    where = _in_range(source, since, until)
    c = remote_activities.c
    with engine.connect() as conn:
        states: dict[str, Any] = dict(conn.execute(select(c.state, func.count()).where(where).group_by(c.state)).all())
        fetched = conn.execute(select(func.count()).where(where, c.state == "stored", c.fetched_ts >= started)).scalar()
        earlier = conn.execute(select(func.count()).where(where, c.state == "stored", c.fetched_ts < started)).scalar()
        failed = conn.execute(select(c.remote_id, c.error).where(where, c.state.in_(("failed", "unusable"))))
        report.failed = [{"activity_id": r.remote_id, "error": r.error} for r in failed]
    report.listed = sum(int(n) for state, n in states.items() if state != "skipped")
    report.fetched = int(fetched or 0)
    report.already_present = int(states.get("linked", 0)) + int(earlier or 0)
    report.skipped_strava = int(states.get("strava", 0))
