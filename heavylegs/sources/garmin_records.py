"""Rows of ``garmin_activities``: plan a listed summary, then download and import what is missing.

``plan`` decides from the summary alone: an activity type we do not track is
skipped, one the store already holds (an earlier sync, a Garmin export, a
folder or a Strava copy) only gets the Garmin link, and the rest stay
``listed`` until ``fetch`` downloads the original file and imports it through
the importer (zip handling, dedup, analysis). Every step commits on its own,
so a killed backfill resumes without downloading anything twice.
"""
from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, insert, select, update

from heavylegs.importer import import_paths
from heavylegs.sources.base import Progress, SourceEnv
from heavylegs.sources.crypto import SecretKeyError
from heavylegs.sources.garmin_api import REAUTH_HINT
from heavylegs.sources.http import Paused, Stopped, Waiter, already_present
from heavylegs.sources.store import athlete_of
from heavylegs.sources.tables import garmin_activities
from heavylegs.store.activities import SourceRef, add_source
from heavylegs.store.matching import MatchRules
from heavylegs.store.tables import activity_sources
from ingest.garmin import mapping
from ingest.garmin.client import GarminClient, GarminError, KeyRejected, NotFound, Unauthorized

KIND = "garmin"
# garmin_activities.state: listed (to download), failed (to retry), or one of the done states.
State = Literal["listed", "failed", "stored", "linked", "skipped", "unusable", "gone"]
DONE: frozenset[State] = frozenset({"stored", "linked", "skipped", "unusable", "gone"})
TODO: tuple[State, ...] = ("listed", "failed")
Planned = Literal["known", "skipped", "listed", "linked"]  # what plan() decided for one summary
Fetched = Literal["new", "duplicate", "linked", "unusable"]  # what fetch() did with one download


def garmin_ref(source: Any, garmin_id: int, fmt: str | None = "fit") -> SourceRef:
    return SourceRef(kind=KIND, ref=str(int(garmin_id)), format=fmt, source_id=int(source.id))


def get(conn: Connection, source: Any, garmin_id: int) -> Any:
    return conn.execute(select(garmin_activities).where(garmin_activities.c.source_id == source.id,
                                                        garmin_activities.c.garmin_id == int(garmin_id))).first()


def upsert(conn: Connection, source: Any, summary: dict[str, Any], state: State, **extra: Any) -> None:
    gid = mapping.activity_id(summary)
    values = {"athlete_id": int(source.athlete_id), "start_ts": mapping.start_ts(summary), "type_key": mapping.type_key(summary)[:64],
              "state": state, "summary_json": json.dumps(summary, separators=(",", ":"), default=str)[:20000], **extra}
    done = conn.execute(update(garmin_activities).where(garmin_activities.c.source_id == source.id, garmin_activities.c.garmin_id == gid)
                        .values(**values))
    if done.rowcount == 0:
        conn.execute(insert(garmin_activities).values(source_id=int(source.id), garmin_id=gid, listed_ts=time.time(), **values))


def mark(conn: Connection, source: Any, garmin_id: int, state: State, error: str | None = None) -> None:
    conn.execute(update(garmin_activities).where(garmin_activities.c.source_id == source.id, garmin_activities.c.garmin_id == int(garmin_id))
                 .values(state=state, error=None if error is None else error[:500]))


def plan(conn: Connection, source: Any, summary: dict[str, Any], types: list[str], rules: MatchRules, record: bool = True) -> Planned:
    """Record ``summary``; 'known', 'skipped', 'linked' (already present) or 'listed' (to download)."""
    gid = mapping.activity_id(summary)
    row = get(conn, source, gid)
    if row is not None and row.state in DONE:
        return "known"
    if not mapping.wanted(summary, types):
        if record:
            upsert(conn, source, summary, "skipped")
        return "skipped"
    owner = already_present(conn, int(source.athlete_id), start_ts=mapping.start_ts(summary), durations_s=mapping.durations_s(summary),
                            distance_m=mapping.distance_m(summary), rules=rules, kind=KIND, ref=str(gid), fmt=KIND)
    if owner is None:
        if record and (row is None or row.state != "failed"):
            upsert(conn, source, summary, "listed")
        return "listed"
    if record:
        add_source(conn, owner, garmin_ref(source, gid))
        upsert(conn, source, summary, "linked", activity_id=owner, error=None)
    return "linked"


ImportFn = Callable[[Path], Any]  # path -> ImportReport


def fetch(engine: Engine, env: SourceEnv, source: Any, summary: dict[str, Any], download: Callable[[int], bytes], import_file: ImportFn,
          rules: MatchRules) -> Fetched:
    """Download one listed activity and import it; 'new', 'duplicate', 'linked' or 'unusable'.

    The download happens outside any transaction. A file imported meanwhile
    (or by a run killed after its import) is recognised first, so it is only linked.
    """
    gid = mapping.activity_id(summary)
    with engine.begin() as conn:
        if plan(conn, source, summary, list({mapping.type_key(summary)}), rules) != "listed":
            return "linked"
    data = download(gid)
    suffix = ".zip" if data[:2] == b"PK" else ".fit"
    with tempfile.TemporaryDirectory(prefix="heavylegs-garmin-") as tmp:
        path = Path(tmp) / f"garmin-{gid}{suffix}"
        path.write_bytes(data)
        tmp_path = str(path)
        report = import_file(path)
    ids = sorted(report.activity_ids)
    with engine.begin() as conn:
        if not ids:
            reasons = "; ".join(o.reason or o.status for o in report.outcomes)[:400] or "no activity in the downloaded file"
            mark(conn, source, gid, "unusable", reasons)
            return "unusable"
        for activity_id in ids:
            add_source(conn, activity_id, garmin_ref(source, gid))
        # The file links name a temporary path; keep a stable, readable one ("garmin/<id>.zip!<member>").
        conn.execute(update(activity_sources).where(activity_sources.c.kind == "file", activity_sources.c.ref.startswith(tmp_path))
                     .values(ref=func.replace(activity_sources.c.ref, tmp_path, f"garmin/{gid}{suffix}")))
        upsert(conn, source, summary, "stored", activity_id=ids[0], fetched_ts=time.time(), error=None)
    return "new" if report.imported else "duplicate"


def rules(env: SourceEnv) -> MatchRules:
    return env.imports.rules


def importer_for(engine: Engine, env: SourceEnv, source: Any) -> ImportFn:
    athlete = athlete_of(engine, source)
    return lambda path: import_paths(engine, env.imports, [path], athlete=athlete, source_id=int(source.id), workers=1)


def reauth_message(name: str, exc: Exception) -> str:
    return f"{exc}; " + REAUTH_HINT.format(name=name)


def download_all(engine: Engine, env: SourceEnv, source: Any, client: GarminClient, todo: list[dict[str, Any]], spend: Waiter,
                 stop: threading.Event | None, on_progress: Progress | None = None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Fetch each listed summary once; counts by outcome and the failures (left 'failed', retried next time)."""
    counts: dict[str, int] = {}
    failures: list[dict[str, Any]] = []
    import_file, match = importer_for(engine, env, source), rules(env)
    interval = client.pacer.interval_s
    for i, summary in enumerate(todo):
        if stop is not None and stop.is_set():
            break
        if on_progress is not None:
            on_progress(i, len(todo), (len(todo) - i) * interval)
        outcome: Fetched | Literal["gone", "failed"]
        try:
            outcome = fetch(engine, env, source, summary, lambda gid: spend(client.download, gid), import_file, match)
        except NotFound:
            with engine.begin() as conn:
                mark(conn, source, int(summary["activityId"]), "gone", "deleted on Garmin since it was listed")
            outcome = "gone"
        except (KeyRejected, Unauthorized, Paused, Stopped, SecretKeyError):
            raise
        except (GarminError, OSError) as exc:
            with engine.begin() as conn:
                mark(conn, source, int(summary["activityId"]), "failed", str(exc))
            failures.append({"activity_id": int(summary["activityId"]), "error": str(exc)[:500]})
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    if on_progress is not None and todo:
        on_progress(len(todo), len(todo), 0.0)
    return counts, failures
