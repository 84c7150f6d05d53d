"""Read side for the CLI, the report and the alert engine: stored results as plain dicts.

Dates are ``datetime.date``; undefined values (NaN in the engine, NULL in
the database) are None; floats are returned at full precision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from heavylegs.metrics.baselines import metric_baselines, steady_with
from heavylegs.metrics.daily import SERIES_KEYS
from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.store.tables import analysis_state

DAILY_KEYS: tuple[str, ...] = ("date",) + SERIES_KEYS
RUN_KEYS: tuple[str, ...] = (
    "id",
    "local_date",
    "distance_m",
    "moving_s",
    "gap_speed_mps",
    "fade_pct",
    "decoupling_pct",
    "cadence_drop_pct",
    "steady",
    "load",
    "load_method",
    "fade_vs_baseline",
)
# Extra keys with ``run_rows(..., detail=True)`` (the alert rules use them).
RUN_DETAIL_KEYS: tuple[str, ...] = ("baseline_median", "baseline_mad", "fade_z", "hr_coverage")
# ...and these, derived on read (``metrics.baselines``): the runner's usual decoupling and cadence drop.
RUN_BASELINE_KEYS: tuple[str, ...] = (
    "decoupling_baseline_median", "decoupling_baseline_mad", "cadence_baseline_median", "cadence_baseline_mad",
)


def _clean(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _as_date(v: Any) -> Any:
    # SQLite hands dates back as date already through the Date type; keep a guard for strings.
    return date.fromisoformat(v) if isinstance(v, str) else v


def daily_rows(conn: Connection, athlete_id: int, since: date | None = None, until: date | None = None) -> list[dict[str, Any]]:
    """One dict per day, oldest first, with exactly ``DAILY_KEYS``."""
    c = daily_metrics.c
    q = select(*(c[k] for k in DAILY_KEYS)).where(c.athlete_id == athlete_id)
    if since is not None:
        q = q.where(c.date >= since)
    if until is not None:
        q = q.where(c.date <= until)
    out = []
    for r in conn.execute(q.order_by(c.date)):
        row = {k: _clean(v) for k, v in zip(DAILY_KEYS, r)}
        row["date"] = _as_date(row["date"])
        out.append(row)
    return out


def run_rows(conn: Connection, athlete_id: int, since: date | None = None, *, detail: bool = False) -> list[dict[str, Any]]:
    """One dict per qualifying run, oldest first, with exactly ``RUN_KEYS`` (+ ``RUN_DETAIL_KEYS`` and
    ``RUN_BASELINE_KEYS``; the latter are None without enough earlier steady runs)."""
    c = activity_metrics.c
    keys = RUN_KEYS + (RUN_DETAIL_KEYS if detail else ())
    cols = [c.activity_id if k == "id" else c[k] for k in keys]
    q = select(*cols).where(c.athlete_id == athlete_id, c.qualifies.is_(True))
    if since is not None and not detail:  # baselines need the earlier runs; filtered below
        q = q.where(c.local_date >= since)
    out = []
    for r in conn.execute(q.order_by(c.local_date, c.activity_id)):
        row = {k: _clean(v) for k, v in zip(keys, r)}
        row["id"] = int(row["id"])
        row["local_date"] = _as_date(row["local_date"])
        row["steady"] = None if row["steady"] is None else bool(row["steady"])
        out.append(row)
    if detail:
        _add_baselines(out)
        if since is not None:
            out = [r for r in out if r["local_date"] >= since]
    return out


def _add_baselines(rows: list[dict[str, Any]]) -> None:
    for key, prefix, min_s in (("decoupling_pct", "decoupling", 2400.0), ("cadence_drop_pct", "cadence", 0.0)):
        base = metric_baselines(rows, key, id_key="id", eligible=steady_with(key, min_s))
        for r in rows:
            median, mad = base.get(r["id"], (None, None))
            r[f"{prefix}_baseline_median"], r[f"{prefix}_baseline_mad"] = median, mad


@dataclass(frozen=True)
class StateInfo:
    dirty: bool
    settings_hash: str | None
    hr_rest_bpm: float | None
    hr_rest_source: str | None
    hr_max_bpm: float | None
    hr_max_source: str | None
    load_model_json: str | None
    computed_ts: float | None
    last_day: date | None


def state_info(conn: Connection, athlete_id: int) -> StateInfo | None:
    """The athlete's analysis state (None before the first import)."""
    s = analysis_state.c
    r = conn.execute(select(analysis_state).where(s.athlete_id == athlete_id)).first()
    if r is None:
        return None
    m = r._mapping
    return StateInfo(
        dirty=bool(m["dirty"]),
        settings_hash=m["settings_hash"],
        hr_rest_bpm=m["hr_rest_bpm"],
        hr_rest_source=m["hr_rest_source"],
        hr_max_bpm=m["hr_max_bpm"],
        hr_max_source=m["hr_max_source"],
        load_model_json=m["load_model_json"],
        computed_ts=m["computed_ts"],
        last_day=_as_date(m["last_day"]),
    )


def describe_anchors(state: StateInfo | None) -> str:
    """Plain words for the heart-rate anchors in use, e.g. for the CLI footer."""
    if state is None or state.hr_max_bpm is None:
        return "Heart-rate anchors: not computed yet."
    src = {"config": "from your config", "default": "default"}
    hr_max_src = state.hr_max_source or ""
    if hr_max_src.startswith("p"):
        pct, _, days = hr_max_src[1:].partition("-")
        max_words = f"{pct}th percentile of your heart rate over {days.rstrip('d')} days"
    else:
        max_words = src.get(hr_max_src, hr_max_src)
    rest_words = src.get(state.hr_rest_source or "", state.hr_rest_source or "")
    return f"Heart-rate anchors: HRmax {state.hr_max_bpm:.0f} bpm ({max_words}), HRrest {state.hr_rest_bpm:.0f} bpm ({rest_words})."
