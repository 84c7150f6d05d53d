"""Grade-adjusted distance: how much flat running a step on a slope is worth.

Two grade models (``model=``, config ``analysis.gap_model``):

- ``"empirical"`` (default since ANALYSIS_VERSION 3): how runners actually pace
  slopes at equal heart rate (``empirical_pace_factor``), after Strava's
  heart-rate-fitted GAP model (Robb 2017).
- ``"minetti"``: the metabolic energy cost of running (``minetti_cost``,
  Minetti et al. 2002). It credits descents about five times too much for
  real-world pacing (~24 % faster at -4 % instead of ~5 %), so downhill
  finishes read as fades; kept for comparison.
"""
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


# Empirical grade-to-pace factor, quadratic in the grade i (fraction, 0.04 = 4 %):
# f(i) = 1 + EMP_LINEAR * i + EMP_QUADRATIC * i^2.
EMP_LINEAR = 2.0
EMP_QUADRATIC = 18.75
GAP_MODELS = ("empirical", "minetti")


def empirical_pace_factor(grade: Any, linear: float = EMP_LINEAR) -> np.ndarray:
    """Pace on grade ``i`` relative to flat pace at equal heart rate (dimensionless).

    f(i) = 1 + 2.0 i + 18.75 i^2   (i = rise/run, 0.04 = 4 %)

    so a runner holding one heart rate runs at v_flat / f(i) on a slope:
    f(+0.04) = 1.11 (11 % slower), f(-0.04) = 0.95 (5 % faster),
    f(+0.10) = 1.3875, f(-0.10) = 0.9875; fastest at i = -2.0/37.5 = -5.3 %
    (f = 0.9467) and no faster than the flat again below about -10.7 %, where
    steep descents brake the runner. The quadratic is fitted through
    (0, 1), (+4 %, 1.11) and (-4 %, 0.95), the real-world pacing of
    recreational runners on moderate slopes, and follows the shape of
    Strava's heart-rate-based GAP curve (Robb D. (2017) "An Improved GAP
    Model", Strava Engineering blog, fitted on ~6 million runs at equal heart
    rate): much less downhill credit and a little less uphill penalty than
    Minetti's metabolic cost. Callers clamp the grade (``grade_from_altitude``).
    ``linear`` replaces the 2.0 (``analysis.runs`` uses 2.0 +- ``gap_band`` to
    bound how differently runners pace slopes).
    """
    i = as_f64(grade)
    factor: np.ndarray = 1.0 + linear * i + EMP_QUADRATIC * i * i
    return factor


def grade_factor(grade: Any, model: str = "empirical") -> np.ndarray:
    """Flat-equivalent metres per metre run at ``grade`` under ``model`` (see module docstring).

    "empirical": ``empirical_pace_factor``; "minetti": Cr(i) / 3.6.
    """
    if model == "empirical":
        return empirical_pace_factor(grade)
    if model == "minetti":
        return minetti_cost(grade) / FLAT_COST_J_PER_KG_M
    raise ValueError(f"unknown GAP model {model!r} (expected one of {', '.join(GAP_MODELS)})")


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
    model: str = "empirical",
) -> np.ndarray:
    """Cumulative grade-adjusted distance, metres, 0 at the first sample.

    gap[i] = sum_{s<=i} (d[s] - d[s-1]) * F(grade[s])

    with F = ``grade_factor(grade, model)``: by default the empirical pace
    factor (1 km up a 4 % slope counts as 1.11 km on the flat, 1 km down it as
    0.95 km); ``model="minetti"`` uses Cr(i)/3.6 (1 km up 10 % = ~1.66 km).
    ``altitude_m=None`` returns the plain distance (treadmill, no elevation).
    References: Robb (2017) Strava Engineering; Minetti et al. (2002) J Appl
    Physiol 93:1039-1046.
    """
    d = _clean_distance(distance_m)
    step = np.zeros_like(d)
    step[1:] = np.diff(d)
    if altitude_m is not None:
        g = grade_from_altitude(d, altitude_m, smoothing_m=smoothing_m, max_grade=max_grade)
        step *= grade_factor(g, model)
    return np.cumsum(step)
