"""Load ratios that do not swing with the weekly rhythm, and the safe re-entry plan after a break.

A runner's week has a shape (a long run on Sunday, rest on Monday); a ratio whose
acute part is a 7-day EWMA rises after every long run and falls after every rest
day (0.69 to 1.32 within one ordinary week). A 7-day *sum* holds exactly one such
week whatever the day, so comparing it with earlier 7-day sums moves only when
the training changes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from analysis._util import as_f64


def week_sums(load_per_day: Any) -> np.ndarray:
    """S(d) = sum of L(d-6..d), days before day 0 counting as 0 (load units, e.g. TRIMP)."""
    L = as_f64(load_per_day).copy()
    L[~np.isfinite(L)] = 0.0
    pad = np.concatenate([np.zeros(6), L])
    return sliding_window_view(pad, 7).sum(axis=1) if L.size else np.zeros(0)


def weekly_load_ratio(load_per_day: Any, weeks: int = 4, peak_weeks: int = 8) -> dict[str, np.ndarray]:
    """The last 7 days against the weeks before them, per day d (day 0 = first day of history).

    - ``load_7d`` = S(d) = sum L(d-6..d).
    - ``weekly_mean`` = sum L(d-7-7W+1 .. d-7) / W, W = ``weeks`` (4): the mean of the
      W whole 7-day sums just before the last 7 days ("uncoupled": the last week is
      not part of its own reference, Windt & Gabbett 2019, BJSM 53:988).
    - ``ratio`` = load_7d / weekly_mean; NaN until day 7 + 7W - 1 (34) and where
      weekly_mean is 0.
    - ``peak_7d`` = max S(d') for d' in [d-7-7P+1, d-7], P = ``peak_weeks`` (8): the
      heaviest 7 days the runner did in the P weeks before the last 7 days (NaN
      until the first of them exists). A week that merely repeats a load done
      recently is a return to normal, not new load.
    The ratio describes how the load changed; it is not an injury probability
    (Impellizzeri et al. 2020, IJSPP 15:907).
    """
    S = week_sums(load_per_day)
    n = S.shape[0]
    L = as_f64(load_per_day).copy()
    L[~np.isfinite(L)] = 0.0
    csum = np.concatenate([[0.0], np.cumsum(L)])
    d = np.arange(n)
    hi = np.clip(d - 6, 0, None)  # exclusive end of the reference span: days < d-6
    lo = np.clip(d - 6 - 7 * weeks, 0, None)
    mean = (csum[hi] - csum[lo]) / weeks
    ratio = np.full(n, np.nan)
    ok = (d >= 7 + 7 * weeks - 1) & (mean > 0)
    ratio[ok] = S[ok] / mean[ok]
    peak = np.full(n, np.nan)
    span = 7 * peak_weeks
    if n > 7:
        padded = np.concatenate([np.full(span - 1, -np.inf), S])
        rolling_max = sliding_window_view(padded, span).max(axis=1)  # max S over d-span+1..d
        peak[7:] = rolling_max[: n - 7]
        peak[~np.isfinite(peak)] = np.nan
    return {"load_7d": S, "weekly_mean": mean, "ratio": ratio, "peak_7d": peak}


def reentry_plan(pre_break_week: float, weeks_since_return: Any, start_fraction: float = 0.5,
                 weekly_increase: float = 0.10) -> np.ndarray:
    """Safe weekly load after a break: P * min(1, f * (1 + g)^k) for week k = 0, 1, ... after the return.

    P = the mean weekly load of the four weeks before the break, f = ``start_fraction``
    (0.5: start near half of it), g = ``weekly_increase`` (0.10: add about 10 % a
    week), so the old load is reached after ln(1/f)/ln(1+g) weeks (7.3). The 10 %
    rule of thumb (e.g. Buist et al. 2008, Am J Sports Med 36:33, found no benefit
    in slower increases) and half-volume restarts are coaching conventions, not
    thresholds of injury.
    """
    k = np.asarray(weeks_since_return, dtype=np.float64)
    return float(pre_break_week) * np.minimum(1.0, start_fraction * (1.0 + weekly_increase) ** k)
