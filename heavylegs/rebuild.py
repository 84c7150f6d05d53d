"""Rebuild derived rows from the original bytes kept in ``raw_files``.

Activity ids, names and source links stay; summaries, laps and streams are
decoded again with the current decoders and plausibility rules (useful after
an upgrade). A start the user set with ``heavylegs set-start`` stays; a file
that is no activity by today's rules has its activities removed.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from heavylegs.metrics.tables import activity_metrics
from heavylegs.settings_views import Athletes
from heavylegs.store.activities import SourceRef, delete_activity, mark_dirty, replace_legs, summary_values
from heavylegs.store.raw import load_raw, record_outcome
from heavylegs.store.start import keep_user_start
from heavylegs.store.tables import activities, activity_sources, athletes, raw_files
from ingest.decode import decode_safely
from ingest.fit.clock import CLOCK_SET_UNIX
from ingest.model import Activity


def _pair(owners: Sequence[Any], decoded: list[Activity]) -> list[tuple[Any, Activity]]:
    """Stored rows and freshly decoded activities of one file, paired by nearest start.

    Not by ``is_same_run``: the point of a rebuild is that the stored totals
    may be wrong. A file holds several activities only for multi-activity TCX,
    whose starts are hours apart.
    """
    pairs = sorted(
        ((abs(row.start_ts - act.start_utc.timestamp()), i, j) for i, row in enumerate(owners) for j, act in enumerate(decoded)),
    )
    used_rows: set[int] = set()
    used_acts: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_rows and j not in used_acts:
            used_rows.add(i)
            used_acts.add(j)
            out.append((owners[i], decoded[j]))
    return out


def _family(conn: Connection, activity_id: int) -> list[int]:
    """The activity and its legs."""
    legs = conn.execute(select(activities.c.id).where(activities.c.parent_id == activity_id)).scalars()
    return [activity_id, *(int(i) for i in legs)]


def rebuild_all(engine: Engine, athlete_zones: Athletes) -> dict[str, Any]:
    with engine.connect() as conn:
        shas = [r[0] for r in conn.execute(select(raw_files.c.sha256))]
        # The same zone rule as the import (Athletes.zone_name), per owning athlete.
        zones = {int(i): athlete_zones.zone_name(str(n)) for i, n in conn.execute(select(athletes.c.id, athletes.c.name))}
    rebuilt, failed, removed = 0, [], []
    for sha in shas:
        with engine.begin() as conn:
            data = load_raw(conn, sha)
            owners = conn.execute(select(activities).where(activities.c.primary_sha256 == sha, activities.c.parent_id.is_(None))).all()
            if data is None or not owners:
                continue
            default_tz = zones.get(int(owners[0].athlete_id), athlete_zones.default_timezone)
            status, payload = decode_safely(data, None, {}, default_tz)
            if status == "skipped":
                # Stored by an earlier version, but not an activity by today's rules (junk bytes).
                for row in owners:
                    delete_activity(conn, int(row.id))
                    removed.append({"id": int(row.id), "sha256": sha, "reason": payload})
                record_outcome(conn, sha, "skipped", payload, sha)
                continue
            if status != "ok":
                failed.append({"sha256": sha, "reason": payload})
                continue
            for row, act in _pair(owners, payload):
                if not act.time_known and row.time_known and row.start_ts >= CLOCK_SET_UNIX:
                    # The user set this start (heavylegs set-start): the file still cannot say it.
                    keep_user_start(act, row.start_ts, row.utc_offset_s)
                values = summary_values(act)
                values.pop("name")  # a user- or export-given name outlives the decoder
                if act.timezone is None and row.timezone:
                    values.pop("timezone")
                if not act.time_known:
                    conn.execute(delete(activity_metrics).where(activity_metrics.c.activity_id.in_(_family(conn, int(row.id)))))
                conn.execute(
                    update(activities).where(activities.c.id == row.id).values(**values, revision=row.revision + 1, updated_ts=time.time())
                )
                # New legs point at the file the user imported, not at the rebuild.
                ref = conn.execute(
                    select(activity_sources.c.ref).where(activity_sources.c.activity_id == row.id, activity_sources.c.sha256 == sha).limit(1)
                ).scalar()
                replace_legs(conn, row.athlete_id, row.id, act.legs, SourceRef("file", ref or sha, sha, row.format))
                mark_dirty(conn, row.athlete_id)
                rebuilt += 1
    return {"files": len(shas), "rebuilt": rebuilt, "failed": failed, "removed": removed}
