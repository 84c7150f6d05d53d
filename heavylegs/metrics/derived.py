"""Metrics that depend on other activities: estimated loads and fade baselines.

Both work on the stored per-activity values (no streams), so they are
cheap enough to redo for the whole history whenever something changed.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.baseline import MAD_TO_SD, OUTLIER_MADS, OUTLIER_PCT, rolling_baselines
from analysis.estimate import LoadModel, estimate_load, fit_load_model
from heavylegs.metrics.activity import ActivityInfo
from heavylegs.metrics.config import ESTIMABLE_SPORTS, AnalysisConfig
from ingest.model import RUNNING_SPORTS


@dataclass(slots=True)
class Entry:
    """An activity and its (possibly just recomputed) ``activity_metrics`` values."""

    info: ActivityInfo
    m: dict[str, Any]

    @property
    def order(self) -> tuple[float, int]:
        return (self.info.start_ts, self.info.id)


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def model_to_json(model: LoadModel | None) -> str | None:
    if model is None:
        return None
    return json.dumps({"coef": float(model.coef), "exponent": float(model.exponent), "method": str(model.method)})


def fit_model(entries: list[Entry], cfg: AnalysisConfig) -> LoadModel | None:
    """The athlete's load model, fitted on their running activities that have TRIMP."""
    pts = [
        (e.m["moving_s"], e.m["gap_speed_mps"], e.m["load"])
        for e in entries
        if e.m["load_method"] == "trimp"
        and e.info.sport in RUNNING_SPORTS
        and (_num(e.m.get("moving_s")) or 0) > 0
        and (_num(e.m.get("gap_speed_mps")) or 0) > 0
        and _num(e.m.get("load")) is not None
    ]
    arr = np.array(pts, dtype=np.float64).reshape(-1, 3)
    try:
        return fit_load_model(arr[:, 0], arr[:, 1], arr[:, 2], min_runs=cfg.estimate_min_hr_runs, sex=cfg.sex)
    except ValueError:
        return None


def _estimate(e: Entry, model: LoadModel | None) -> tuple[float | None, str]:
    moving = _num(e.m.get("moving_s")) or 0.0
    gap = _num(e.m.get("gap_speed_mps")) or 0.0
    if model is None or e.info.is_multisport_parent or e.info.sport not in ESTIMABLE_SPORTS or moving <= 0 or gap <= 0:
        return None, "none"
    value = _num(estimate_load(moving, gap, model))
    return (value, "estimated") if value is not None else (None, "none")


def apply_estimates(entries: list[Entry], model: LoadModel | None) -> set[int]:
    """Give every activity without TRIMP its estimated load; ids whose load changed."""
    changed: set[int] = set()
    for e in entries:
        if e.m["load_method"] == "trimp":
            continue
        load, method = _estimate(e, model)
        if method != e.m["load_method"] or load != e.m["load"]:
            e.m["load"], e.m["load_method"] = load, method
            changed.add(e.info.id)
    return changed


_BASELINE_KEYS = ("baseline_median", "baseline_mad", "fade_z", "fade_vs_baseline")
# Columns these steps change without re-reading streams.
DERIVED_COLS = ("load", "load_method") + _BASELINE_KEYS


def _was_outlier(value: float, m: dict[str, Any], cfg: AnalysisConfig) -> bool:
    """The outlier flag ``rolling_baselines`` gave a run, from the baseline stored with it."""
    median, spread = _num(m.get("baseline_median")), _num(m.get("baseline_mad"))
    if median is None or spread is None or not np.isfinite(value):
        return False
    return bool(value > median + max(OUTLIER_PCT, OUTLIER_MADS * MAD_TO_SD * spread))


def apply_baselines(entries: list[Entry], cfg: AnalysisConfig, from_order: tuple[float, int] | None) -> set[int]:
    """Fade of each qualifying run against the athlete's own earlier steady runs.

    ``baseline_median``/``baseline_mad``: median and MAD (unscaled, in
    percentage points) from ``analysis.baseline.rolling_baselines`` over the
    fades of earlier steady qualifying runs: the last ``baseline_runs``
    (default 10) of comparable duration (x/÷ 1.5; all durations when fewer
    than ``baseline_min_runs``, default 3, are comparable), leaving out
    earlier outlier runs (fade > median + max(3, 3 x 1.4826 x MAD)) so a
    fading episode does not become the norm; None with fewer than
    ``baseline_min_runs`` earlier runs. ``fade_z`` = (fade - median) / MAD
    (raw MAD, as before), None when MAD is 0; ``fade_vs_baseline`` = fade - median,
    in points. Only runs at or after ``from_order`` are updated (None = none;
    ``(-inf, 0)`` = all). Returns the changed ids.
    """
    changed: set[int] = set()
    if from_order is None:
        return changed
    runs = sorted((e for e in entries if e.m.get("qualifies")), key=lambda e: e.order)
    fades = [_num(e.m.get("fade_pct")) for e in runs]
    pooled = [f if f is not None and e.m.get("steady") else np.nan for e, f in zip(runs, fades)]
    durations = [_num(e.m.get("moving_s")) or np.nan for e in runs]
    # Runs before from_order keep their stored baseline; their outlier flags follow from it, and the
    # later runs need nothing else of them (a one-run recompute skips ten years of medians).
    start = next((i for i, e in enumerate(runs) if e.order >= from_order), len(runs))
    earlier = [_was_outlier(v, e.m, cfg) for v, e in zip(pooled[:start], runs[:start])]
    med, mad, _ = rolling_baselines(pooled, durations, n=cfg.baseline_runs, min_runs=cfg.baseline_min_runs,
                                    start=start, earlier_outliers=earlier)
    for e, fade, m_i, d_i in zip(runs, fades, med, mad):
        if e.order < from_order:
            continue
        new: dict[str, float | None] = dict.fromkeys(_BASELINE_KEYS)
        if fade is not None and np.isfinite(m_i):
            median, spread = float(m_i), float(d_i)
            z = (fade - median) / spread if spread > 0 else None
            new.update(baseline_median=median, baseline_mad=spread, fade_z=_num(z), fade_vs_baseline=fade - median)
        if any(e.m.get(k) != v for k, v in new.items()):
            e.m.update(new)
            changed.add(e.info.id)
    return changed
