"""Which samples of an activity count as moving."""
from __future__ import annotations

from typing import Any

import numpy as np

from analysis._util import as_f64, backward_dt


def speed_from_distance(time_s: Any, distance_m: Any) -> np.ndarray:
    """Speed over the interval ending at each sample, m/s: ``(d[i]-d[i-1]) / (t[i]-t[i-1])``.

    NaN for the first sample, for zero/negative time steps and where either
    distance is missing.
    """
    t = as_f64(time_s)
    d = as_f64(distance_m)
    v = np.full(t.shape[0], np.nan)
    if t.shape[0] > 1:
        dt = np.diff(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            v[1:] = np.where(dt > 0, np.diff(d) / dt, np.nan)
    return v


def moving_mask(
    time_s: Any,
    speed_mps: Any = None,
    distance_m: Any = None,
    *,
    pause_speed_mps: float = 0.5,
    max_gap_s: float = 30.0,
) -> np.ndarray:
    """Boolean per sample: does the interval ending at this sample count as moving?

    A sample is a pause when
    - its time step exceeds ``max_gap_s`` (default 30 s): the timer was stopped
      or the recording dropped out, so the gap is not moving time, or
    - its speed is below ``pause_speed_mps`` (default 0.5 m/s = 33 min/km).

    Speed is ``speed_mps`` where finite, otherwise derived from ``distance_m``
    over the interval (``(d[i]-d[i-1])/(t[i]-t[i-1])``). A sample whose speed
    is unknown either way (no speed stream, GPS dropout) counts as moving when
    its time step is within ``max_gap_s``: without evidence of a pause we keep
    the time rather than silently dropping heart-rate load. The first sample
    carries no time (see the sample convention in ``analysis._util``), so its
    value never changes a time-weighted result.

    Config keys: ``analysis.pause_speed_mps``, ``analysis.trimp_max_gap_s``.
    """
    t = as_f64(time_s)
    n = t.shape[0]
    dt = backward_dt(t)
    ok_gap = dt <= max_gap_s
    speed = np.full(n, np.nan)
    if speed_mps is not None:
        speed = as_f64(speed_mps).copy()
    if distance_m is not None:
        derived = speed_from_distance(t, distance_m)
        speed = np.where(np.isfinite(speed), speed, derived)
    with np.errstate(invalid="ignore"):
        slow = np.isfinite(speed) & (speed < pause_speed_mps)
    moving: np.ndarray = ok_gap & ~slow
    return moving
