"""Database side of the recompute: activity list with stored metrics, stream batches, writes."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from sqlalchemy import Connection, Engine, delete, insert, select

from heavylegs.metrics.activity import ActivityInfo
from heavylegs.metrics.anchors import hr_histogram
from heavylegs.metrics.derived import Entry
from heavylegs.metrics.tables import activity_metrics
from heavylegs.store.streams import decode_streams
from heavylegs.store.tables import activities
from ingest.model import Streams

_INFO_COLS = ("id", "revision", "start_ts", "local_date", "sport", "sub_sport", "parent_id", "elapsed_s", "timer_s", "moving_s", "distance_m")
_METRIC_COLS = tuple(c.name for c in activity_metrics.columns)

# Streams decoded per read transaction: small enough that an import waiting
# for the SQLite write lock is not held up for long.
BATCH = 50
_CHUNK = 500  # ids per IN (...) list, well under every driver's parameter limit


def load_entries(conn: Connection, athlete_id: int) -> list[Entry]:
    """Every activity of the athlete with its stored metrics (``m`` empty when none)."""
    a, m = activities.c, activity_metrics.c
    cols = [a[k] for k in _INFO_COLS] + [m[k].label(f"m_{k}") for k in _METRIC_COLS]
    q = (
        select(*cols)
        .select_from(activities.outerjoin(activity_metrics, m.activity_id == a.id))
        .where(a.athlete_id == athlete_id)
        .order_by(a.start_ts, a.id)
    )
    n_info = len(_INFO_COLS)
    out = []
    for r in conn.execute(q):
        info = ActivityInfo(*r[:n_info])
        info.id = int(info.id)
        metrics = dict(zip(_METRIC_COLS, r[n_info:])) if r[n_info] is not None else {}
        out.append(Entry(info, metrics))
    return out


def _chunks(ids: list[int], size: int = _CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def stream_batches(engine: Engine, todo: list[Entry]) -> Iterator[list[tuple[Entry, Streams]]]:
    """(entry, decoded streams) in batches, each read in its own short transaction."""
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        with engine.connect() as conn:
            blobs = dict(conn.execute(select(activities.c.id, activities.c.streams_z).where(activities.c.id.in_([e.info.id for e in batch]))).all())
            conn.rollback()
        yield [(e, decode_streams(blobs.get(e.info.id))) for e in batch]


def stream_hist(engine: Engine, activity_id: int) -> np.ndarray | None:
    with engine.connect() as conn:
        blob = conn.execute(select(activities.c.streams_z).where(activities.c.id == activity_id)).scalar()
        conn.rollback()
    hist = hr_histogram(decode_streams(blob).hr_bpm)
    return None if hist is None else hist.astype(np.int64)


def _full_row(athlete_id: int, m: dict[str, Any]) -> dict[str, Any]:
    row = {k: m.get(k) for k in _METRIC_COLS}
    row["athlete_id"] = athlete_id
    row["qualifies"] = bool(row["qualifies"])
    return row


def write_metrics(conn: Connection, athlete_id: int, entries: list[Entry]) -> int:
    """Replace the metric rows of ``entries`` (skipping activities deleted meanwhile)."""
    if not entries:
        return 0
    ids = [e.info.id for e in entries]
    alive: set[int] = set()
    for chunk in _chunks(ids):
        alive |= {int(i) for i in conn.execute(select(activities.c.id).where(activities.c.id.in_(chunk))).scalars()}
        conn.execute(delete(activity_metrics).where(activity_metrics.c.activity_id.in_(chunk)))
    rows = [_full_row(athlete_id, e.m) for e in entries if e.info.id in alive and e.m]
    if rows:
        conn.execute(insert(activity_metrics), rows)
    return len(rows)
