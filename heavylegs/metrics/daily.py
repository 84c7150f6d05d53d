"""The athlete's daily series, rebuilt in full from the stored per-activity loads.

Rebuilding is a few numpy passes over one value per day, so there is no
incremental variant to get wrong: every recompute replaces the athlete's
``daily_metrics`` rows in one transaction.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete

from analysis.daily import daily_load, daily_series
from heavylegs.metrics.config import AnalysisConfig
from heavylegs.metrics.derived import Entry
from heavylegs.metrics.tables import daily_metrics
from ingest.model import RUNNING_SPORTS

SERIES_KEYS = (
    "load",
    "acute",
    "chronic",
    "acwr",
    "acwr_uncoupled",
    "acwr_ewma",
    "ctl",
    "atl",
    "tsb",
    "monotony",
    "strain",
    "run_streak",
)


def build_daily(entries: list[Entry], cfg: AnalysisConfig, today: date) -> tuple[date | None, dict[str, np.ndarray]]:
    """(first day, series) from the first activity day to ``today``, or (None, {}) without activities.

    An activity dated after ``today`` (a clock or time-zone slip) extends the
    series to its day rather than being dropped.
    """
    acts = [e for e in entries if not e.info.is_multisport_parent]
    if not acts:
        return None, {}
    first = min(e.info.local_date for e in acts)
    last = max([today] + [e.info.local_date for e in acts])
    n_days = (last - first).days + 1
    counted = [e for e in acts if cfg.counts(e.info.sport) and e.m.get("load") is not None]
    idx = np.array([(e.info.local_date - first).days for e in counted], dtype=np.int64)
    loads = np.array([float(e.m["load"]) for e in counted], dtype=np.float64)
    per_day = daily_load(idx, loads, n_days)
    run_day = np.zeros(n_days, dtype=bool)
    run_idx = [(e.info.local_date - first).days for e in acts if e.info.sport in RUNNING_SPORTS]
    run_day[np.array(run_idx, dtype=np.int64)] = True
    return first, daily_series(per_day, run_day, cfg.daily_params)


def _column(values: np.ndarray) -> list[Any]:
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return arr.tolist()
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None  # NaN = undefined = NULL
    return out.tolist()


def series_tuples(athlete_id: int, first: date, series: dict[str, np.ndarray], iso_dates: bool = False) -> list[tuple[Any, ...]]:
    """Rows in ``_COLUMNS`` order, ready for a driver-level executemany."""
    n = len(series["load"])
    dates: list[Any] = [first + timedelta(days=i) for i in range(n)]
    if iso_dates:
        dates = [d.isoformat() for d in dates]
    cols = [_column(series[k]) for k in SERIES_KEYS]
    cols[-1] = [int(v) for v in np.asarray(series["run_streak"]).tolist()]
    return list(zip([athlete_id] * n, dates, *cols))


_COLUMNS = ("athlete_id", "date") + SERIES_KEYS


def _insert_sql(conn: Connection) -> str:
    # Driver-level executemany: ten years of rows in a few milliseconds, where
    # Core's per-row bind processing took most of an incremental recompute.
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(c) for c in _COLUMNS)
    return f"INSERT INTO {quote(daily_metrics.name)} ({names}) VALUES ({', '.join([mark] * len(_COLUMNS))})"


def write_daily(conn: Connection, athlete_id: int, first: date | None, series: dict[str, np.ndarray]) -> int:
    """Replace the athlete's daily rows; returns the number of days written."""
    conn.execute(delete(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id))
    if first is None:
        return 0
    # SQLAlchemy keeps SQLite dates as ISO text; other drivers take date objects.
    rows = series_tuples(athlete_id, first, series, iso_dates=conn.dialect.name == "sqlite")
    if rows:
        conn.exec_driver_sql(_insert_sql(conn), rows)
    return len(rows)
