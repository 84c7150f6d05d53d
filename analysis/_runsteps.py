"""Per-step arrays of a run and the stretch statistics built on them (used by ``runs``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis._util import as_f64, backward_dt, fill_by_time, overlap, weighted_median
from analysis.gap import FLAT_COST_J_PER_KG_M, grade_from_altitude, minetti_cost
from analysis.moving import moving_mask


@dataclass(frozen=True)
class Steps:
    """Step i runs from sample i-1 to sample i; non-moving steps have zero distance and time."""

    moving: np.ndarray  # bool per sample
    dist_m: np.ndarray  # moving distance of each step
    gap_m: np.ndarray  # grade-adjusted distance of each step
    time_s: np.ndarray  # moving time of each step
    cum_dist_m: np.ndarray  # moving distance at the end of each step
    cum_time_s: np.ndarray  # moving time at the end of each step


def build_steps(
    time_s: np.ndarray,
    distance_m: Any,
    speed_mps: Any,
    altitude_m: Any,
    *,
    treadmill: bool,
    pause_speed_mps: float,
    max_gap_s: float,
    smoothing_m: float,
    max_grade: float,
) -> Steps:
    dt = backward_dt(time_s)
    speed = None if speed_mps is None else as_f64(speed_mps)
    d = None if distance_m is None else fill_by_time(as_f64(distance_m), time_s)
    if d is None:
        # No usable distance (e.g. an indoor run with speed only): integrate the speed.
        if speed is None or not np.isfinite(speed).any():
            raise ValueError("run_metrics needs distance_m or speed_mps")
        filled = fill_by_time(speed, time_s)
        d = np.cumsum(np.minimum(dt, max_gap_s) * np.maximum(filled, 0.0))
    d = np.maximum.accumulate(d)
    moving = moving_mask(time_s, speed, d, pause_speed_mps=pause_speed_mps, max_gap_s=max_gap_s)
    step_d = np.zeros_like(d)
    step_d[1:] = np.diff(d)
    step_d[~moving] = 0.0
    step_t = np.where(moving, dt, 0.0)
    step_g = step_d
    if not treadmill and altitude_m is not None:
        grade = grade_from_altitude(d, altitude_m, smoothing_m=smoothing_m, max_grade=max_grade)
        step_g = step_d * (minetti_cost(grade) / FLAT_COST_J_PER_KG_M)
    return Steps(moving, step_d, step_g, step_t, np.cumsum(step_d), np.cumsum(step_t))


def by_distance(s: Steps, lo: float, hi: float) -> np.ndarray:
    """Fraction of each step inside moving distance ``[lo, hi)``."""
    return overlap(s.cum_dist_m, s.dist_m, lo, hi)


def by_time(s: Steps, lo: float, hi: float) -> np.ndarray:
    """Fraction of each step inside moving time ``[lo, hi)``."""
    return overlap(s.cum_time_s, s.time_s, lo, hi)


def gap_speed(s: Steps, frac: np.ndarray) -> float | None:
    """Grade-adjusted distance / moving time over the weighted steps, m/s."""
    t = float(np.dot(frac, s.time_s))
    return float(np.dot(frac, s.gap_m)) / t if t > 0 else None


def split_speeds(s: Steps, lo: float, hi: float, split_m: float) -> np.ndarray:
    """GAP speed of each whole ``split_m`` split from ``lo`` towards ``hi`` (a partial last split is dropped)."""
    n = int(np.floor((hi - lo) / split_m + 1e-9)) if split_m > 0 else 0
    out = np.full(n, np.nan)
    for k in range(n):
        v = gap_speed(s, by_distance(s, lo + k * split_m, lo + (k + 1) * split_m))
        out[k] = np.nan if v is None else v
    return out


def mean_hr(s: Steps, frac: np.ndarray, hr_bpm: np.ndarray, valid: np.ndarray) -> float | None:
    """Time-weighted mean of the valid heart-rate samples, bpm."""
    w = frac * s.time_s * valid
    total = float(w.sum())
    return float(np.dot(w, np.where(valid, hr_bpm, 0.0))) / total if total > 0 else None


def median_cadence(s: Steps, frac: np.ndarray, cadence_spm: np.ndarray) -> float | None:
    """Time-weighted median of positive cadence samples, steps/min."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(cadence_spm) & (cadence_spm > 0)
    return weighted_median(np.where(ok, cadence_spm, np.nan), frac * s.time_s)
