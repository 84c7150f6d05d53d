"""Per-step arrays of a run and the stretch statistics built on them (used by ``runs``)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from analysis._util import as_f64, backward_dt, fill_by_time, interval_sums, overlap, weighted_median
from analysis.gap import EMP_LINEAR, empirical_pace_factor, grade_factor, grade_from_altitude
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
    grade: np.ndarray | None = None  # smoothed grade of each step (None: treadmill or no altitude)


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
    model: str = "empirical",
) -> Steps:
    dt = backward_dt(time_s)
    speed = None if speed_mps is None else as_f64(speed_mps)
    d = None if distance_m is None else fill_by_time(as_f64(distance_m), time_s)
    if d is None:
        # No usable distance (e.g. an indoor run with speed only): integrate the speed.
        if speed is None or not np.isfinite(speed).any():
            raise ValueError("run_metrics needs distance_m or speed_mps")
        filled = fill_by_time(speed, time_s)
        assert filled is not None  # speed has a finite sample (checked above)
        d = np.cumsum(np.minimum(dt, max_gap_s) * np.maximum(filled, 0.0))
    d = np.maximum.accumulate(d)
    moving = moving_mask(time_s, speed, d, pause_speed_mps=pause_speed_mps, max_gap_s=max_gap_s)
    step_d = np.zeros_like(d)
    step_d[1:] = np.diff(d)
    step_d[~moving] = 0.0
    step_t = np.where(moving, dt, 0.0)
    step_g = step_d
    grade = None
    if not treadmill and altitude_m is not None:
        grade = grade_from_altitude(d, altitude_m, smoothing_m=smoothing_m, max_grade=max_grade)
        step_g = step_d * grade_factor(grade, model)
    return Steps(moving, step_d, step_g, step_t, np.cumsum(step_d), np.cumsum(step_t), grade)


def band_steps(s: Steps, model: str, half_width: float) -> list[Steps]:
    """``s`` re-weighted by the empirical curve with linear coefficient 2.0 -+ ``half_width``.

    Runners differ in how much a descent speeds them up and a climb slows them
    down; these two curves bound that (half width 0.5: 0.93-0.97 at -4 %,
    1.09-1.13 at +4 %). Empty for the Minetti model, without grade or with 0.
    """
    if s.grade is None or model != "empirical" or half_width <= 0:
        return []
    return [replace(s, gap_m=s.dist_m * empirical_pace_factor(s.grade, EMP_LINEAR + k * half_width)) for k in (-1.0, 1.0)]


def fade_pct(s: Steps, early: np.ndarray, late: np.ndarray) -> float | None:
    """100 * (1 - v_late / v_early) on grade-adjusted speed over two weightings of the steps."""
    v_early, v_late = gap_speed(s, early), gap_speed(s, late)
    return 100.0 * (1.0 - v_late / v_early) if v_early and v_late is not None else None


def enough_flat(s: Steps, flat: np.ndarray, whole: np.ndarray, min_share: float) -> bool:
    """Whether the flat part holds >= ``min_share`` of a stretch's moving time."""
    total = float(np.dot(whole, s.time_s))
    return total > 0 and float(np.dot(flat, s.time_s)) >= min_share * total


def smallest(central: float | None, *others: float | None) -> float | None:
    """min of the readings that exist; None when the central (grade-adjusted) one does not."""
    if central is None:
        return None
    return min([central] + [x for x in others if x is not None])


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


def flat_weights(s: Steps, frac: np.ndarray, max_abs_grade: float) -> np.ndarray | None:
    """``frac`` restricted to near-flat steps (|grade| <= ``max_abs_grade``); None without grade."""
    if s.grade is None:
        return None
    return np.where(np.abs(s.grade) <= max_abs_grade, frac, 0.0)


def split_speeds(s: Steps, lo: float, hi: float, split_m: float) -> np.ndarray:
    """GAP speed of each whole ``split_m`` split from ``lo`` towards ``hi`` (a partial last split is dropped).

    Each split weighs the steps as ``by_distance`` does; NaN for a split without moving time.
    """
    n = int(np.floor((hi - lo) / split_m + 1e-9)) if split_m > 0 else 0
    if n < 1:
        return np.zeros(0)
    edges = lo + np.arange(n + 1) * split_m
    gap = interval_sums(s.cum_dist_m, s.dist_m, s.gap_m, edges)
    secs = interval_sums(s.cum_dist_m, s.dist_m, s.time_s, edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(secs > 0, gap / secs, np.nan)


def split_speeds_interp(s: Steps, split_m: float) -> np.ndarray:
    """GAP speed of each whole ``split_m`` split of the run, by interpolating the cumulative
    GAP distance and moving time along the moving distance (each step spread evenly, as in
    ``by_distance``); vectorised for short splits over a whole run. NaN for a split without time."""
    total = float(s.cum_dist_m[-1]) if s.cum_dist_m.shape[0] else 0.0
    n = int(np.floor(total / split_m + 1e-9)) if split_m > 0 else 0
    if n < 1:
        return np.zeros(0)
    edges = np.arange(n + 1) * split_m
    x = np.concatenate([[0.0], s.cum_dist_m])
    gap = np.interp(edges, x, np.concatenate([[0.0], np.cumsum(s.gap_m)]))
    secs = np.interp(edges, x, np.concatenate([[0.0], s.cum_time_s]))
    dt = np.diff(secs)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dt > 0, np.diff(gap) / dt, np.nan)


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
