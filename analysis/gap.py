"""Grade-adjusted distance from the energy cost of running on slopes (Minetti et al. 2002)."""
from __future__ import annotations

from typing import Any

import numpy as np

from analysis._util import as_f64

# Minetti's polynomial for the cost of running, J/(kg*m), highest power first.
MINETTI_COEFFICIENTS: tuple[float, ...] = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)
# Cost on the flat (the polynomial at i = 0): grade-adjusted distance divides by it.
FLAT_COST_J_PER_KG_M = 3.6


def minetti_cost(grade: Any) -> np.ndarray:
    """Energy cost of running, J/(kg*m), at gradient ``grade`` (rise/run, 0.10 = 10 %).

    Cr(i) = 155.4 i^5 - 30.4 i^4 - 43.3 i^3 + 46.3 i^2 + 19.5 i + 3.6

    Fitted for -0.45 <= i <= 0.45; callers clamp the grade first
    (``grade_from_altitude`` does). Minimum ~1.7 J/(kg*m) near i = -0.18.
    Reference: Minetti A.E., Moia C., Roi G.S., Susta D., Ferretti G. (2002)
    Energy cost of walking and running at extreme uphill and downhill slopes.
    J Appl Physiol 93:1039-1046.
    """
    return np.polyval(MINETTI_COEFFICIENTS, as_f64(grade))


def _clean_distance(distance_m: Any) -> np.ndarray:
    d = as_f64(distance_m).copy()
    ok = np.isfinite(d)
    if not ok.any():
        return np.zeros_like(d)
    if not ok.all():
        idx = np.arange(d.shape[0], dtype=np.float64)
        d[~ok] = np.interp(idx[~ok], idx[ok], d[ok])
    # Cumulative distance never decreases; small GPS corrections backwards are noise.
    return np.maximum.accumulate(d)


def grade_from_altitude(
    distance_m: Any,
    altitude_m: Any,
    *,
    smoothing_m: float = 10.0,
    max_grade: float = 0.45,
) -> np.ndarray:
    """Gradient (rise/run) of the step ending at each sample, smoothed over distance.

    For the step from sample i-1 to i with midpoint m = (d[i-1] + d[i]) / 2,
    grade = (alt[k] - alt[j]) / (d[k] - d[j]) where j is the last sample at or
    before m - smoothing_m/2 and k the first at or after m + smoothing_m/2, so
    the slope is measured over at least ``smoothing_m`` metres (default 10,
    config ``analysis.gap_smoothing_m``), less only at the very start/end.
    The result is clamped to +-``max_grade`` (default 0.45, the range of
    Minetti's data; config ``analysis.gap_max_grade``). The first sample gets
    the grade around d[0].

    Missing distance is interpolated over the sample index and forced
    non-decreasing; missing altitude is interpolated over distance. With no
    altitude at all the grade is 0 everywhere. A window with no distance
    (standing still) has grade 0.
    """
    d = _clean_distance(distance_m)
    alt = as_f64(altitude_m).copy()
    n = d.shape[0]
    if alt.shape[0] != n:
        raise ValueError("distance_m and altitude_m differ in length")
    grade = np.zeros(n)
    ok = np.isfinite(alt)
    if n < 2 or not ok.any():
        return grade
    if not ok.all():
        alt[~ok] = np.interp(d[~ok], d[ok], alt[ok])
    mid = np.empty(n)
    mid[0] = d[0]
    mid[1:] = 0.5 * (d[:-1] + d[1:])
    half = 0.5 * max(float(smoothing_m), 0.0)
    j = np.clip(np.searchsorted(d, mid - half, side="right") - 1, 0, n - 1)
    k = np.clip(np.searchsorted(d, mid + half, side="left"), 0, n - 1)
    span = d[k] - d[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        grade = np.where(span > 0, (alt[k] - alt[j]) / span, 0.0)
    return np.clip(grade, -max_grade, max_grade)


def gap_distance_m(
    distance_m: Any,
    altitude_m: Any,
    *,
    smoothing_m: float = 10.0,
    max_grade: float = 0.45,
) -> np.ndarray:
    """Cumulative grade-adjusted distance, metres, 0 at the first sample.

    gap[i] = sum_{s<=i} (d[s] - d[s-1]) * Cr(grade[s]) / 3.6

    i.e. each step's distance scaled by its Minetti cost relative to the flat
    (``minetti_cost``, ``grade_from_altitude``): 1 km up a 10 % slope counts as
    ~1.74 km on the flat. ``altitude_m=None`` returns the plain distance
    (treadmill, no elevation). Reference: Minetti et al. (2002) J Appl Physiol
    93:1039-1046.
    """
    d = _clean_distance(distance_m)
    step = np.zeros_like(d)
    step[1:] = np.diff(d)
    if altitude_m is not None:
        g = grade_from_altitude(d, altitude_m, smoothing_m=smoothing_m, max_grade=max_grade)
        step *= minetti_cost(g) / FLAT_COST_J_PER_KG_M
    return np.cumsum(step)
