"""Rows of ``remote_activities``: what Polar and intervals.icu listed, and what became of it.

The same steps as ``garmin_records``, for services whose ids are strings:
``plan`` decides from the list entry alone (not tracked, a Strava stub, already
in the store -- then only the link is added -- or to download), ``fetch``
downloads the original and imports it through the importer, ``download_all``
runs the downloads one at a time. Every step commits on its own, so a killed
sync or backfill resumes without downloading anything twice.
"""
from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from heavylegs.importer import import_paths
from heavylegs.sources.base import SourceEnv
from heavylegs.sources.http import already_present
from heavylegs.sources.store import athlete_of
from heavylegs.sources.tables import remote_activities
from heavylegs.store.activities import SourceRef, add_source
from heavylegs.store.matching import MatchRules
from heavylegs.store.tables import activity_sources

DONE = frozenset({"stored", "linked", "skipped", "strava", "unusable", "gone"})
TODO = ("listed", "failed")
Download = Callable[[str], tuple[bytes, str]]  # remote id -> (file bytes, file name suffix such as ".fit" or ".tcx.gz")


@dataclass
class Listed:
    """One list entry, read defensively by the kind's mapping."""

    remote_id: str
    start_ts: float | None
    durations_s: list[float]
    distance_m: float | None
    sport: str
    summary: dict[str, Any] = field(default_factory=dict)
    wanted: bool = True  # False: an activity type we do not download
    strava: bool = False  # an intervals.icu stub for a Strava activity: no file through the API


def rules(env: SourceEnv) -> MatchRules:
    return env.imports.rules


def get(conn: Connection, source: Any, remote_id: str) -> Any:
    return conn.execute(select(remote_activities).where(remote_activities.c.source_id == source.id,
                                                        remote_activities.c.remote_id == remote_id)).first()


def upsert(conn: Connection, source: Any, item: Listed, state: str, **extra: Any) -> None:
    values = {"athlete_id": int(source.athlete_id), "start_ts": item.start_ts, "sport": item.sport[:64], "state": state,
              "summary_json": json.dumps(item.summary, separators=(",", ":"), default=str)[:20000], **extra}
    done = conn.execute(update(remote_activities).where(remote_activities.c.source_id == source.id,
                                                        remote_activities.c.remote_id == item.remote_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(remote_activities).values(source_id=int(source.id), remote_id=item.remote_id, listed_ts=time.time(), **values))


def mark(conn: Connection, source: Any, remote_id: str, state: str, error: str | None = None) -> None:
    conn.execute(update(remote_activities).where(remote_activities.c.source_id == source.id, remote_activities.c.remote_id == remote_id)
                 .values(state=state, error=None if error is None else error[:500]))


def plan(conn: Connection, source: Any, kind: str, item: Listed, match: MatchRules, record: bool = True) -> str:
    """'known', 'skipped', 'strava', 'linked' (already present, link added) or 'listed' (to download)."""
    row = get(conn, source, item.remote_id)
    if row is not None and row.state in DONE:
        return "strava" if row.state == "strava" else "known"
    if item.strava or not item.wanted:
        state = "strava" if item.strava else "skipped"
        if record:
            upsert(conn, source, item, state)
        return state
    owner = already_present(conn, int(source.athlete_id), start_ts=item.start_ts, durations_s=item.durations_s, distance_m=item.distance_m,
                            rules=match, kind=kind, ref=item.remote_id, fmt=kind)
    if owner is None:
        if record and (row is None or row.state != "failed"):
            upsert(conn, source, item, "listed")
        return "listed"
    if record:
        add_source(conn, owner, SourceRef(kind=kind, ref=item.remote_id, format=None, source_id=int(source.id)))
        upsert(conn, source, item, "linked", activity_id=owner, error=None)
    return "linked"


def fetch(engine: Engine, env: SourceEnv, source: Any, kind: str, item: Listed, download: Download, match: MatchRules) -> str:
    """Download one listed activity and import it; 'new', 'duplicate', 'linked' or 'unusable'.

    The download happens outside any transaction; a file imported meanwhile is
    recognised first and only linked.
    """
    with engine.begin() as conn:
        if plan(conn, source, kind, item, match) != "listed":
            return "linked"
    data, suffix = download(item.remote_id)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.remote_id)[:80]
    with tempfile.TemporaryDirectory(prefix=f"heavylegs-{kind}-") as tmp:
        path = Path(tmp) / f"{kind}-{safe}{suffix}"
        path.write_bytes(data)
        report = import_paths(engine, env.imports, [path], athlete=athlete_of(engine, source), source_id=int(source.id), workers=1)
    ids = sorted(report.activity_ids)
    fmt = suffix.lstrip(".").split(".")[0] or None
    with engine.begin() as conn:
        if not ids:
            reasons = "; ".join(o.reason or o.status for o in report.outcomes)[:400] or "no activity in the downloaded file"
            mark(conn, source, item.remote_id, "unusable", reasons)
            return "unusable"
        for activity_id in ids:
            add_source(conn, activity_id, SourceRef(kind=kind, ref=item.remote_id, format=fmt, source_id=int(source.id)))
        # The file link names a temporary path; keep a stable, readable one ("polar/<id>.fit").
        conn.execute(update(activity_sources).where(activity_sources.c.kind == "file", activity_sources.c.ref.startswith(str(path)))
                     .values(ref=func.replace(activity_sources.c.ref, str(path), f"{kind}/{safe}{suffix}")))
        upsert(conn, source, item, "stored", activity_id=ids[0], fetched_ts=time.time(), error=None)
    return "new" if report.imported else "duplicate"


def download_all(engine: Engine, env: SourceEnv, source: Any, kind: str, todo: list[Listed], download: Download, *,
                 stop: threading.Event | None, fatal: tuple[type[BaseException], ...], gone: tuple[type[BaseException], ...], strava: tuple[type[BaseException], ...],
                 soft: tuple[type[BaseException], ...], on_progress: Callable[[int, int, float], None] | None = None,
                 interval_s: float = 0.0) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Fetch each item once: counts by outcome and the failures (left 'failed', retried next time).

    ``fatal`` (a refused token) stops the run; ``gone``: the item was deleted since it was listed; ``strava``: not served
    (counted); ``soft``: this item failed, the next may not. Anything else
    (revoked token, rate limit pause, stop) propagates to the caller.
    """
    counts: dict[str, int] = {}
    failures: list[dict[str, Any]] = []
    match = rules(env)
    for i, item in enumerate(todo):
        if stop is not None and stop.is_set():
            break
        if on_progress is not None:
            on_progress(i, len(todo), (len(todo) - i) * interval_s)
        try:
            outcome = fetch(engine, env, source, kind, item, download, match)
        except fatal:
            raise
        except gone:
            with engine.begin() as conn:
                mark(conn, source, item.remote_id, "gone", "deleted since it was listed")
            outcome = "gone"
        except strava:
            with engine.begin() as conn:
                mark(conn, source, item.remote_id, "strava", "a Strava activity: not available through the API")
            outcome = "strava"
        except soft + (OSError,) as exc:
            with engine.begin() as conn:
                mark(conn, source, item.remote_id, "failed", str(exc))
            failures.append({"activity_id": item.remote_id, "error": str(exc)[:500]})
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    if on_progress is not None and todo:
        on_progress(len(todo), len(todo), 0.0)
    return counts, failures


def todo_rows(engine: Engine, source: Any, to_listed: Callable[[dict[str, Any]], Listed], where: Any = None) -> list[Listed]:
    """What is still to download (listed or failed before), oldest first."""
    query = select(remote_activities).where(remote_activities.c.source_id == source.id, remote_activities.c.state.in_(TODO))
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        rows = list(conn.execute(query.order_by(remote_activities.c.start_ts)))
    return [to_listed(json.loads(r.summary_json)) for r in rows]
