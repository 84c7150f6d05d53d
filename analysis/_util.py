"""Small array helpers shared by the analysis modules (not part of the public API).

Sample convention used throughout ``analysis/``: a sample at ``time_s[i]``
describes the interval from the previous sample, ``(time_s[i-1], time_s[i]]``.
So ``dt[i] = time_s[i] - time_s[i-1]`` and ``dt[0] = 0``: the first sample
carries no time. This matches how cumulative distance is differenced and puts
a timer gap on the sample that ends it.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def as_f64(values: Any) -> np.ndarray:
    """1-D float64 copy-free view where possible."""
    return np.asarray(values, dtype=np.float64).reshape(-1)


def backward_dt(time_s: np.ndarray) -> np.ndarray:
    """Seconds since the previous sample; 0 for the first and for non-increasing times."""
    dt = np.zeros(time_s.shape[0], dtype=np.float64)
    if time_s.shape[0] > 1:
        dt[1:] = np.diff(time_s)
    # NaN or backwards timestamps carry no time rather than poisoning sums.
    dt[~np.isfinite(dt)] = 0.0
    np.maximum(dt, 0.0, out=dt)
    return dt


def fill_by_time(values: np.ndarray, time_s: np.ndarray) -> np.ndarray | None:
    """Linear interpolation of NaN samples over time (edges take the nearest value).

    None when no sample is finite.
    """
    ok = np.isfinite(values)
    if ok.all():
        return values
    if not ok.any():
        return None
    t = time_s if np.isfinite(time_s).all() else np.arange(values.shape[0], dtype=np.float64)
    out = values.copy()
    out[~ok] = np.interp(t[~ok], t[ok], values[ok])
    return out


def overlap(step_end: np.ndarray, step_len: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fraction of each step that lies inside ``[lo, hi)`` along an axis of consecutive steps.

    Step i spans ``[step_end[i] - step_len[i], step_end[i]]``; its value is
    taken as spread uniformly over it, so a step straddling a boundary counts in
    proportion. A zero-length step counts wholly when ``lo <= step_end < hi``.
    """
    start = step_end - step_len
    inside = np.clip(np.minimum(step_end, hi) - np.maximum(start, lo), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(step_len > 0, inside / step_len, 0.0)
    point = (step_len <= 0) & (step_end >= lo) & (step_end < hi)
    return np.where(point, 1.0, np.clip(frac, 0.0, 1.0))


def interval_sums(step_end: np.ndarray, step_len: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``sum(values * overlap(step_end, step_len, lo, hi))`` for each ``[lo, hi)`` of consecutive ``edges``.

    The same rule as ``overlap`` for steps laid end to end (``step_end`` non-decreasing and each
    step starting where the previous ended), in one pass: the cumulative sum of ``values`` up to
    an edge is the whole steps ending before it plus the share of the step it falls in.
    """
    n = step_end.shape[0]
    if n == 0:
        return np.zeros(max(edges.shape[0] - 1, 0))
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    j = np.searchsorted(step_end, edges, side="left")  # steps [0, j) end before the edge
    k = np.minimum(j, n - 1)
    length = step_len[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip((edges - (step_end[k] - length)) / length, 0.0, 1.0)
    partial = np.where((j < n) & (length > 0), values[k] * share, 0.0)
    return np.diff(prefix[j] + partial)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Median with non-negative weights; equal weights give ``np.median``'s answer.

    None when no finite value has positive weight.
    """
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return None
    v = values[ok]
    w = weights[ok]
    order = np.argsort(v, kind="stable")
    v = v[order]
    cw = np.cumsum(w[order])
    half = 0.5 * cw[-1]
    i = int(np.searchsorted(cw, half, side="left"))
    # Exactly half the weight below: average with the next value, like np.median on even counts.
    if i + 1 < v.shape[0] and np.isclose(cw[i], half, rtol=1e-12, atol=0.0):
        return float(0.5 * (v[i] + v[i + 1]))
    return float(v[min(i, v.shape[0] - 1)])
