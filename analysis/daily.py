"""Daily training-load series: ACWR (three variants), CTL/ATL/TSB, monotony, strain, run streak."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from analysis._util import as_f64

SERIES_KEYS: tuple[str, ...] = (
    "load", "acute", "chronic", "acwr", "acwr_uncoupled", "acwr_ewma",
    "ctl", "atl", "tsb", "monotony", "strain", "run_streak",
)


@dataclass(frozen=True)
class DailyParams:
    """Window lengths in days; config keys ``analysis.acute_days`` etc. of the same names."""

    acute_days: int = 7
    chronic_days: int = 28
    ctl_days: float = 42.0
    atl_days: float = 7.0


def daily_load(day_index: Any, load: Any, n_days: int) -> np.ndarray:
    """Sum of activity loads per day (``np.bincount`` with weights), 0 on empty days.

    ``day_index``: integer day of each activity counted from the athlete's
    first activity day (0); every index must lie in ``[0, n_days)``. NaN loads
    (activities nothing could be estimated for) add nothing.
    """
    idx = np.asarray(day_index).reshape(-1)
    w = as_f64(load)
    if idx.shape != w.shape:
        raise ValueError("day_index and load differ in length")
    if idx.size and not np.array_equal(idx, np.round(idx)):
        raise ValueError("day_index must hold whole days")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_days):
        raise ValueError(f"day_index outside [0, {n_days})")
    return np.bincount(idx, weights=np.where(np.isfinite(w), w, 0.0), minlength=n_days).astype(np.float64)


def _windows(padded: np.ndarray, width: int, n: int) -> np.ndarray:
    return sliding_window_view(padded, width)[:n]


def _ratio(num: np.ndarray, den: np.ndarray, defined: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    ok = defined & (den > 0)
    out[ok] = num[ok] / den[ok]
    return out


def exp_smooth(load_per_day: Any, alphas: Any) -> np.ndarray:
    """First-order smoothers E(d) = E(d-1) + alpha * (L(d) - E(d-1)), E(-1) = 0; one row per alpha.

    The same recursion serves both families used here: the EWMA of Williams et
    al. 2017 (alpha = 2/(N+1), since lam*L + (1-lam)*E = E + lam*(L-E)) and
    Coggan's CTL/ATL (alpha = 1 - exp(-1/N)). One pass of plain Python floats
    over the days: numpy has no first-order IIR filter and scipy is not a
    dependency; ten years take ~0.5 ms per smoother.
    """
    days = as_f64(load_per_day).tolist()
    rows = [_smooth_one(days, float(a)) for a in np.asarray(alphas, dtype=np.float64).reshape(-1)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(days))


def _smooth_one(days: list[float], alpha: float) -> list[float]:
    e = 0.0
    out: list[float] = []
    append = out.append
    for x in days:
        e += alpha * (x - e)
        append(e)
    return out


def _run_streak(run_day: Any, n: int) -> np.ndarray:
    r = np.asarray(run_day).reshape(-1)
    if r.dtype == bool:
        if r.shape[0] != n:
            raise ValueError("a boolean run_day needs one value per day")
        ran = r.astype(np.int64)
    else:
        ran = np.zeros(n, dtype=np.int64)
        ran[r.astype(np.int64)] = 1
    c = np.cumsum(ran)
    # Subtract the count reached on the most recent day without a run.
    return c - np.maximum.accumulate(np.where(ran == 0, c, 0))


def daily_series(load_per_day: Any, run_day: Any, params: DailyParams = DailyParams()) -> dict[str, np.ndarray]:
    """Daily series from per-day loads (day 0 = the athlete's first activity day).

    L(d) = load of day d; days before day 0 count as 0. A = acute_days (7),
    C = chronic_days (28).
    - acute(d) = sum L(d-A+1..d) / A;  chronic(d) = sum L(d-C+1..d) / C.
    - acwr = acute / chronic (rolling average, coupled: Gabbett 2016 BJSM 50:273).
    - acwr_uncoupled = acute / (sum L(d-C+1..d-A) / (C-A)) (Windt & Gabbett 2019, BJSM).
    - acwr_ewma = EWMA_A / EWMA_C, EWMA_N(d) = lam L(d) + (1-lam) EWMA_N(d-1),
      lam = 2/(N+1), EWMA_N(-1) = 0 (Williams et al. 2017 BJSM 51:209).
      All three ratios are NaN on days 0..C-2 (defined from day 27) and where
      the denominator is 0. ACWR describes how recent load compares with the
      athlete's recent history; it is NOT an injury probability (its value as
      a predictor is disputed: Impellizzeri et al. 2020, IJSPP 15:907).
    - ctl(d) = ctl(d-1) + (L(d) - ctl(d-1)) (1 - e^(-1/ctl_days)), ctl_days 42;
      atl likewise with atl_days 7; both 0 before day 0; tsb(d) = ctl(d-1) -
      atl(d-1), so tsb(0) = 0 (Coggan/Allen Performance Manager: fitness,
      fatigue, form; load in TRIMP instead of TSS).
    - monotony = mean / population SD of L(d-A+1..d), NaN when the loads of
      the window are all equal; strain = sum L(d-A+1..d) * monotony
      (Foster 1998, Med Sci Sports Exerc 30:1164).
    - run_streak = consecutive days up to and including d with a run (0 on a
      day without). ``run_day``: a boolean per day (preferred) or integer day
      indices of runs.
    Returns float64 arrays (run_streak int64) under ``SERIES_KEYS``; NaN = null.
    """
    L = as_f64(load_per_day).copy()
    L[~np.isfinite(L)] = 0.0
    n = L.shape[0]
    A, C = int(params.acute_days), int(params.chronic_days)
    if not 0 < A < C:
        raise ValueError("need 0 < acute_days < chronic_days")
    pad = np.concatenate([np.zeros(C - 1), L])
    s_chronic = _windows(pad, C, n).sum(axis=1)
    s_older = _windows(pad, C - A, n).sum(axis=1)  # days d-C+1 .. d-A
    week = _windows(pad[C - A:], A, n)
    s_acute = week.sum(axis=1)
    acute, chronic = s_acute / A, s_chronic / C
    defined = np.arange(n) >= C - 1
    ewma_a, ewma_c, ctl, atl = exp_smooth(L, [
        2.0 / (A + 1), 2.0 / (C + 1), 1.0 - math.exp(-1.0 / params.ctl_days), 1.0 - math.exp(-1.0 / params.atl_days),
    ])
    tsb = np.zeros(n)
    tsb[1:] = (ctl - atl)[:-1]
    constant = week.max(axis=1) == week.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        monotony = np.where(constant, np.nan, acute / week.std(axis=1))
    return {
        "load": L,
        "acute": acute,
        "chronic": chronic,
        "acwr": _ratio(acute, chronic, defined),
        "acwr_uncoupled": _ratio(acute, s_older / (C - A), defined),
        "acwr_ewma": _ratio(ewma_a, ewma_c, defined),
        "ctl": ctl,
        "atl": atl,
        "tsb": tsb,
        "monotony": monotony,
        "strain": s_acute * monotony,
        "run_streak": _run_streak(run_day, n),
    }
