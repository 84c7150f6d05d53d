"""How a run's fade compares with the athlete's own recent steady runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from analysis._util import as_f64


def fade_vs_baseline(
    previous_steady_fades: Any,
    fade_pct: float,
    *,
    n: int = 10,
    min_runs: int = 1,
    mad_scale: float = 1.0,
) -> tuple[float | None, float | None, float | None]:
    """(median, MAD, robust z) of ``fade_pct`` against the last ``n`` previous steady runs.

    ``previous_steady_fades``: fade_pct of earlier qualifying steady runs,
    oldest first; NaN entries are dropped before the last ``n`` (default 10,
    config ``analysis.baseline_runs``) are taken.
    median = median(f); MAD = mad_scale * median(|f - median|) (raw MAD by
    default; 1.4826 makes it SD-consistent for normal data);
    z = (fade_pct - median) / MAD, None when MAD is 0 or fade_pct is NaN.
    All three None with fewer than ``min_runs`` previous values. Median and
    MAD rather than mean/SD so one bad day does not move the baseline.
    """
    f = as_f64(previous_steady_fades)
    f = f[np.isfinite(f)]
    if n > 0:
        f = f[-n:]
    if f.shape[0] == 0 or f.shape[0] < min_runs:
        return None, None, None
    median = float(np.median(f))
    mad = mad_scale * float(np.median(np.abs(f - median)))
    if mad > 0 and fade_pct is not None and np.isfinite(fade_pct):
        return median, mad, (float(fade_pct) - median) / mad
    return median, mad, None


MAD_TO_SD = 1.4826  # MAD * 1.4826 estimates the SD of normally distributed values
OUTLIER_PCT = 3.0  # a run is an outlier beyond median + max(OUTLIER_PCT, OUTLIER_MADS x SD-equivalent)
OUTLIER_MADS = 3.0


def rolling_baselines(
    values: Any,
    duration_s: Any = None,
    *,
    n: int = 10,
    min_runs: int = 3,
    duration_ratio: float = 1.5,
    outlier_pct: float = OUTLIER_PCT,
    outlier_mads: float = OUTLIER_MADS,
    start: int = 0,
    earlier_outliers: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, MAD, outlier) of each run's metric against the athlete's own earlier runs.

    ``values``: one metric (fade, decoupling, cadence drop; percent) per run,
    oldest first, NaN where the run does not count. ``duration_s``: moving
    time per run, or None. For run i the pool is the earlier runs j < i with
    a finite value, preferring *comparable* ones (duration within a factor
    ``duration_ratio``, default 1.5, of run i's: a 2-hour long run drifts more
    than a 40-minute one); when fewer than ``min_runs`` (default 3) are
    comparable, all earlier runs are used. Of the pool the last ``n``
    (default 10) are taken, leaving out earlier *outliers* unless that leaves
    fewer than ``min_runs``:

        median_i = median(pool); MAD_i = median(|pool - median_i|)   (raw, points)
        outlier_i = value_i > median_i + max(outlier_pct, outlier_mads * 1.4826 * MAD_i)

    (defaults 3 points and 3 SD-equivalents). Leaving outliers out keeps the
    baseline from learning a run of bad days: six long runs fading 10-15 %
    in a row are each judged against the runs before the episode. Median,
    MAD and outlier are NaN/False while the pool has fewer than ``min_runs``.

    Incremental use: with ``start`` > 0 and ``earlier_outliers`` (the outlier flags of runs
    ``0 .. start-1``, as an earlier call returned them), only runs from ``start`` on are computed;
    the median and MAD of the earlier runs are NaN in the result. Their flags are all that the
    later runs depend on, so the result from ``start`` on equals a call from 0.
    """
    v = as_f64(values)
    dur = None if duration_s is None else as_f64(duration_s)
    k = v.shape[0]
    med, mad = np.full(k, np.nan), np.full(k, np.nan)
    out = np.zeros(k, dtype=bool)
    start = max(0, min(start, k)) if earlier_outliers is not None else 0
    if start:
        out[:start] = np.asarray(earlier_outliers, dtype=bool)[:start]
    seen: list[int] = [i for i in range(start) if np.isfinite(v[i])]
    for i in range(start, k):
        pool = seen
        if dur is not None and np.isfinite(dur[i]) and dur[i] > 0 and duration_ratio > 0:
            comp = _last_comparable(seen, dur, dur[i], duration_ratio, n if n >= min_runs > 0 else 0)
            if len(comp) >= min_runs:
                pool = comp
        recent = pool[-n:] if n > 0 else pool
        clean = [j for j in recent if not out[j]]
        use = clean if len(clean) >= min_runs else recent
        if len(use) >= max(min_runs, 1):
            x = v[use]
            med[i] = float(np.median(x))
            mad[i] = float(np.median(np.abs(x - med[i])))
            if np.isfinite(v[i]):
                out[i] = bool(v[i] > med[i] + max(outlier_pct, outlier_mads * MAD_TO_SD * mad[i]))
        if np.isfinite(v[i]):
            seen.append(i)
    return med, mad, out


def _last_comparable(seen: list[int], dur: np.ndarray, d: float, ratio: float, want: int) -> list[int]:
    """The earlier runs whose duration is within ``ratio`` of ``d``, oldest first.

    With ``want`` > 0 only the last ``want`` of them, found scanning backwards, which
    keeps a ten-year history linear: the caller takes the last ``n`` anyway.
    """
    lo, hi = d / ratio, d * ratio
    if want <= 0:
        return [j for j in seen if lo <= dur[j] <= hi]
    found: list[int] = []
    for j in reversed(seen):
        if lo <= dur[j] <= hi:
            found.append(j)
            if len(found) == want:
                break
    found.reverse()
    return found
