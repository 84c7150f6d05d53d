"""Backfilling Strava history within the rate limits, resumable at any point.

It plans before it spends: list the range (one request per 200 activities),
match each summary against the store (runs already imported from files or
the bulk export are only linked), then fetch streams for the rest. Every
page and every activity is committed as it completes, so a rerun -- even
after kill -9 -- continues where the last one stopped and never fetches a
stored activity again. A rerun first reads the real usage with ``GET
/athlete`` instead of trusting a clock saved by an earlier run.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update

from heavylegs.sources.base import BackfillReport, Progress, SourceEnv, Waiting
from heavylegs.sources.http import Paused, Waiter
from heavylegs.strava import records
from heavylegs.strava.records import rules, settle, sport_types
from heavylegs.strava.tables import strava_activities, strava_backfills
from heavylegs.strava.tokens import NeedsReauth, mark_needs_reauth
from ingest.strava.budget import BudgetExhausted
from ingest.strava.client import StravaClient, StravaError, Unauthorized

# One report type for every source's backfill (see heavylegs.sources.base).
Report = BackfillReport


def _range_filter(source: Any, after_ts: int, before_ts: int) -> Any:
    cond = [strava_activities.c.source_id == source.id, strava_activities.c.start_ts > after_ts]
    if before_ts:
        cond.append(strava_activities.c.start_ts < before_ts)
    return and_(*cond)


def _position(engine: Engine, source: Any, after_ts: int, before_ts: int) -> tuple[int, bool]:
    """Where the listing stands; a different range starts over (stored activities stay stored)."""
    with engine.begin() as conn:
        row = conn.execute(select(strava_backfills).where(strava_backfills.c.source_id == source.id)).first()
        if row is not None and (row.after_ts, row.before_ts) == (after_ts, before_ts):
            return int(row.next_page), bool(row.listed_all)
        values = {"after_ts": after_ts, "before_ts": before_ts, "next_page": 1, "listed_all": False, "updated_ts": time.time()}
        if row is None:
            conn.execute(insert(strava_backfills).values(source_id=source.id, **values))
        else:
            conn.execute(update(strava_backfills).where(strava_backfills.c.source_id == source.id).values(**values))
    return 1, False


def _dry_run(spend: Waiter, client: StravaClient, engine: Engine, env: SourceEnv, source: Any, after_ts: int, before_ts: int) -> Report:
    report, page, wanted, start = Report(status="planned"), 1, 0, client.requests
    while True:
        items = spend(client.list_activities, after=after_ts, before=before_ts or None, page=page)
        with engine.connect() as conn:
            for summary in items:
                outcome = records.plan(conn, source, summary, sport_types(env), rules(env), link=False)
                report.listed += outcome != "skipped"
                report.already_present += outcome in ("known", "linked")
                wanted += outcome == "listed"
        if not items:
            break
        page += 1
    report.requests = client.requests
    eta = client.budget.seconds_for(wanted)
    report.plan = {"list_requests": client.requests - start, "stream_requests": wanted, "seconds_at_current_limits": eta,
                   "usage": client.budget.usage_text()}
    return report


def run(
    engine: Engine, env: SourceEnv, source: Any, client: StravaClient, *, after_ts: int = 0, before_ts: int = 0,
    wait: bool = True, dry_run: bool = False, on_progress: Progress | None = None, on_wait: Waiting | None = None,
) -> Report:
    # The shared rate-limit waiter: an exhausted budget is waited out (on the budget's clock) or, with wait=False, a pause.
    spend = Waiter(wait=wait, on_wait=on_wait, clock=client.budget.clock, sleep=client.budget.sleep, margin_s=1.0,
                   rate_limited=(BudgetExhausted,))
    started, fetched = time.time(), 0
    try:
        spend(client.athlete)  # one cheap request: the real usage, and a token check
        if dry_run:
            return _dry_run(spend, client, engine, env, source, after_ts, before_ts)
        page, listed_all = _position(engine, source, after_ts, before_ts)
        while not listed_all:
            items = spend(client.list_activities, after=after_ts, before=before_ts or None, page=page)
            with engine.begin() as conn:
                for summary in items:
                    records.plan(conn, source, summary, sport_types(env), rules(env))
                page, listed_all = page + 1, not items
                conn.execute(update(strava_backfills).where(strava_backfills.c.source_id == source.id)
                             .values(next_page=page, listed_all=listed_all, updated_ts=time.time()))
        with engine.connect() as conn:
            todo = list(conn.execute(
                select(strava_activities.c.strava_id, strava_activities.c.summary_z)
                .where(_range_filter(source, after_ts, before_ts), strava_activities.c.state.in_(("listed", "failed")))
                .order_by(strava_activities.c.start_ts)
            ))
        for i, row in enumerate(todo):
            if on_progress is not None:
                on_progress(i, len(todo), client.budget.seconds_for(len(todo) - i))
            try:
                outcome = spend(settle, engine, source, records.unpack(row.summary_z), client, sport_types(env), rules(env), planned=True)
            except (BudgetExhausted, Paused, Unauthorized, NeedsReauth):
                raise
            except StravaError as exc:
                with engine.begin() as conn:
                    records.mark(conn, int(row.strava_id), "failed", str(exc)[:500])
                continue
            fetched += outcome in ("new", "duplicate")
        if on_progress is not None:
            on_progress(len(todo), len(todo), 0.0)
        report = Report()
    except (BudgetExhausted, Paused) as exc:
        report = Report(status="paused", resume_at=exc.resume_at)
    except (Unauthorized, NeedsReauth) as exc:
        mark_needs_reauth(engine, int(source.id), str(exc))
        raise NeedsReauth(str(exc)) from exc
    report.fetched, report.requests = fetched, client.requests
    _tally(engine, source, after_ts, before_ts, started, report)
    return report


def _tally(engine: Engine, source: Any, after_ts: int, before_ts: int, started: float, report: Report) -> None:
    where = _range_filter(source, after_ts, before_ts)
    with engine.connect() as conn:
        states: dict[str, int] = dict(conn.execute(select(strava_activities.c.state, func.count()).where(where).group_by(strava_activities.c.state)).all())
        earlier = conn.execute(select(func.count()).where(where, strava_activities.c.state == "stored", strava_activities.c.fetched_ts < started)).scalar()
        failed = conn.execute(select(strava_activities.c.strava_id, strava_activities.c.error).where(where, strava_activities.c.state == "failed"))
        report.failed = [{"strava_id": int(r.strava_id), "error": r.error} for r in failed]
    report.listed = sum(n for state, n in states.items() if state != "skipped")
    report.already_present = int(states.get("linked", 0)) + int(earlier or 0)
