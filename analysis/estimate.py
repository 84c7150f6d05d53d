"""Load for activities without usable heart rate, from duration and grade-adjusted speed."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis._util import as_f64
from analysis.trimp import banister_coefficients

# Fallback anchors, a typical recreational runner: easy running at 10 km/h
# (6:00 min/km) at 65 % of heart-rate reserve and threshold running at 14 km/h
# (~4:17 min/km) at 88 % HRR. Through Banister's per-minute weighting
# HRr * a * exp(b * HRr) these give TRIMP/min ~1.45 and ~3.05 (male constants),
# i.e. TRIMP/min ~= 0.151 * v^2.21 with v in m/s.
FALLBACK_ANCHORS: tuple[tuple[float, float], tuple[float, float]] = ((10 / 3.6, 0.65), (14 / 3.6, 0.88))
# Power-law exponents outside this range are noise from a few runs, not physiology.
EXPONENT_RANGE: tuple[float, float] = (0.0, 4.0)
# Above this the "run" is a ride or a car: don't extrapolate the power law (~2:23 min/km).
MAX_SPEED_MPS = 7.0


@dataclass(frozen=True)
class LoadModel:
    """TRIMP per moving minute = coef * gap_speed_mps ** exponent."""

    coef: float
    exponent: float
    method: str  # "regression" | "fallback"


def fallback_load_model(
    sex: str = "male",
    anchors: tuple[tuple[float, float], tuple[float, float]] = FALLBACK_ANCHORS,
) -> LoadModel:
    """The power law through two (speed m/s, fraction of HRR) anchors, Banister-weighted.

    f(x) = x * a * exp(b * x) is Banister's TRIMP per minute at HRr = x;
    exponent = ln(f2/f1) / ln(v2/v1), coef = f1 / v1**exponent.
    Defaults: ``FALLBACK_ANCHORS`` (10 km/h at 65 % HRR, 14 km/h at 88 % HRR)
    and the male constants, giving coef ~0.151, exponent ~2.21.
    """
    a, b = banister_coefficients(sex)
    (v1, x1), (v2, x2) = anchors
    f1 = x1 * a * math.exp(b * x1)
    f2 = x2 * a * math.exp(b * x2)
    exponent = math.log(f2 / f1) / math.log(v2 / v1)
    return LoadModel(coef=f1 / v1**exponent, exponent=exponent, method="fallback")


def fit_load_model(
    moving_s: Any,
    gap_speed_mps: Any,
    trimp: Any,
    *,
    min_runs: int = 5,
    sex: str = "male",
    exponent_range: tuple[float, float] = EXPONENT_RANGE,
) -> LoadModel:
    """Fit TRIMP/min = c * v^k to the athlete's own heart-rate runs.

    Least squares in log space over runs with moving_s > 0, v > 0, TRIMP > 0:
    ln(TRIMP / moving_min) = ln c + k ln v. With fewer than ``min_runs`` such
    runs (default 5, config ``analysis.estimate_min_hr_runs``) the answer is
    ``fallback_load_model(sex)`` (method "fallback"). A fitted k outside
    ``exponent_range`` (0..4), or undefined because every run had the same
    speed, is clamped (or replaced by the fallback exponent) and c refitted
    for that k. Banister TRIMP per minute rises roughly exponentially with
    %HRR and %HRR roughly linearly with speed, so a power law in speed is a
    smooth monotone approximation, not a physiological law.
    """
    t = as_f64(moving_s)
    v = as_f64(gap_speed_mps)
    load = as_f64(trimp)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(t) & np.isfinite(v) & np.isfinite(load) & (t > 0) & (v > 0) & (load > 0)
    fallback = fallback_load_model(sex)
    if int(ok.sum()) < max(min_runs, 2):
        return fallback
    x = np.log(v[ok])
    y = np.log(load[ok] / (t[ok] / 60.0))
    var = float(np.var(x))
    if var > 1e-12:
        k = float(np.mean((x - x.mean()) * (y - y.mean())) / var)
        k = min(max(k, exponent_range[0]), exponent_range[1])
    else:
        k = fallback.exponent
    c = math.exp(float(np.mean(y - k * x)))
    return LoadModel(coef=c, exponent=k, method="regression")


def estimate_load(
    moving_s: float, gap_speed_mps: float, model: LoadModel, *, max_speed_mps: float = MAX_SPEED_MPS
) -> float:
    """Estimated TRIMP-equivalent load = moving_min * coef * v^exponent.

    v = ``gap_speed_mps`` capped at ``max_speed_mps`` (7 m/s). NaN when the
    speed is unknown or not positive (nothing to estimate from); 0.0 without
    moving time.
    """
    if not math.isfinite(moving_s) or moving_s <= 0:
        return 0.0
    if not math.isfinite(gap_speed_mps) or gap_speed_mps <= 0:
        return math.nan
    v = min(gap_speed_mps, max_speed_mps)
    return float(moving_s / 60.0 * model.coef * v**model.exponent)
