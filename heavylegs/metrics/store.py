"""Database side of the recompute: activity list with stored metrics, stream batches, writes."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from heavylegs.metrics.activity import DETAIL_COLS, LIST_COLS, ActivityInfo
from heavylegs.metrics.anchors import hr_histogram
from heavylegs.metrics.derived import DERIVED_COLS, Entry
from heavylegs.metrics.tables import activity_metrics
from heavylegs.store.streams import decode_streams
from heavylegs.store.tables import activities
from ingest.model import Streams

_ALL_METRIC_COLS = tuple(c.name for c in activity_metrics.columns)
# What the derived steps and the daily series need; the rest stays in the database.
_METRIC_COLS = (
    "activity_id", "revision", "load", "load_method", "qualifies", "moving_s", "gap_speed_mps", "fade_pct", "steady",
) + DERIVED_COLS[2:]

# Streams decoded per read transaction: small enough that an import waiting
# for the SQLite write lock is not held up for long.
BATCH = 50
_CHUNK = 500  # ids per IN (...) list, well under every driver's parameter limit


def load_entries(conn: Connection, athlete_id: int) -> list[Entry]:
    """Every activity of the athlete, oldest first, with its stored metrics (``m`` empty when none).

    Two narrow queries rather than a join: activity rows carry their stream
    blobs, and the fewer columns read from them the faster this is.
    """
    a, m = activities.c, activity_metrics.c
    qm = select(*(m[k] for k in _METRIC_COLS)).where(m.athlete_id == athlete_id)
    stored = {r[0]: dict(zip(_METRIC_COLS, r)) for r in conn.execute(qm)}
    # time_known false: no real date, so no day to count it on (issue 14; heavylegs set-start fixes it).
    qa = select(*(a[k] for k in LIST_COLS)).where(a.athlete_id == athlete_id, a.time_known.is_not(False)).order_by(a.start_ts, a.id)
    return [Entry(ActivityInfo(*r), stored.get(r[0], {})) for r in conn.execute(qa)]


def _chunks(ids: list[int], size: int = _CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def stream_batches(engine: Engine, todo: list[Entry]) -> Iterator[list[tuple[Entry, Streams]]]:
    """(entry, decoded streams) in batches, each read in its own short transaction."""
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        cols = [activities.c[k] for k in ("id", "streams_z") + DETAIL_COLS]
        with engine.connect() as conn:
            rows = {r[0]: r for r in conn.execute(select(*cols).where(activities.c.id.in_([e.info.id for e in batch])))}
            conn.rollback()
        out = []
        for e in batch:
            row = rows.get(e.info.id)
            if row is None:
                continue  # deleted meanwhile; the next recompute sees it gone
            for k, v in zip(DETAIL_COLS, row[2:]):
                setattr(e.info, k, v)
            out.append((e, decode_streams(row[1])))
        yield out


def stored_hists(conn: Connection, athlete_id: int, since: date) -> dict[int, bytes | None]:
    """Stored HR histograms of the athlete's activities after ``since`` (one query for the HRmax window)."""
    m = activity_metrics.c
    q = select(m.activity_id, m.hr_hist).where(m.athlete_id == athlete_id, m.local_date > since)
    return {int(i): blob for i, blob in conn.execute(q)}


def stored_hist(engine: Engine, activity_id: int) -> bytes | None:
    with engine.connect() as conn:
        blob = conn.execute(select(activity_metrics.c.hr_hist).where(activity_metrics.c.activity_id == activity_id)).scalar()
        conn.rollback()
    return blob


def stream_hist(engine: Engine, activity_id: int) -> np.ndarray | None:
    with engine.connect() as conn:
        blob = conn.execute(select(activities.c.streams_z).where(activities.c.id == activity_id)).scalar()
        conn.rollback()
    hist = hr_histogram(decode_streams(blob).hr_bpm)
    return None if hist is None else hist.astype(np.int64)


def _full_row(athlete_id: int, m: dict[str, Any]) -> dict[str, Any]:
    row = {k: m.get(k) for k in _ALL_METRIC_COLS}
    row["athlete_id"] = athlete_id
    row["qualifies"] = bool(row["qualifies"])
    return row


_UPDATE_DERIVED = (
    update(activity_metrics)
    .where(activity_metrics.c.activity_id == bindparam("b_id"))
    .values({k: bindparam(f"b_{k}") for k in DERIVED_COLS})
)


def write_metrics(conn: Connection, athlete_id: int, analysed: list[Entry], derived: list[Entry]) -> int:
    """Replace the rows of ``analysed`` entries and update the derived columns of ``derived`` ones.

    Activities deleted while we computed are skipped (their rows would break the foreign key).
    """
    ids = [e.info.id for e in analysed]
    alive: set[int] = set()
    for chunk in _chunks(ids):
        alive |= {int(i) for i in conn.execute(select(activities.c.id).where(activities.c.id.in_(chunk))).scalars()}
        conn.execute(delete(activity_metrics).where(activity_metrics.c.activity_id.in_(chunk)))
    rows = [_full_row(athlete_id, e.m) for e in analysed if e.info.id in alive and e.m]
    if rows:
        conn.execute(insert(activity_metrics), rows)
    params = [{"b_id": e.info.id} | {f"b_{k}": e.m.get(k) for k in DERIVED_COLS} for e in derived if e.m]
    if params:
        conn.execute(_UPDATE_DERIVED, params)
    return len(rows) + len(params)
