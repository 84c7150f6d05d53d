"""Banister training impulse (TRIMP) from a heart-rate stream."""
from __future__ import annotations

from typing import Any

import numpy as np

from analysis._util import as_f64, backward_dt
from analysis.hr import valid_hr

# Banister's weighting constants (a, b) by sex (Morton, Fitz-Clarke & Banister 1990).
BANISTER_COEFFICIENTS: dict[str, tuple[float, float]] = {
    "male": (0.64, 1.92),
    "female": (0.86, 1.67),
}
_SEX_ALIASES = {"male": "male", "m": "male", "man": "male", "men": "male",
                "female": "female", "f": "female", "woman": "female", "women": "female"}


def banister_coefficients(sex: str) -> tuple[float, float]:
    """(a, b) for ``sex`` ("male"/"female", also "m"/"f"); ValueError otherwise."""
    key = _SEX_ALIASES.get(str(sex).strip().lower())
    if key is None:
        raise ValueError(f"sex must be 'male' or 'female', not {sex!r}")
    return BANISTER_COEFFICIENTS[key]


def _sample_weights(
    time_s: Any, hr_bpm: Any, moving: Any, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dt in s capped at max_gap_s and 0 where not moving, HR, valid-HR mask)."""
    t = as_f64(time_s)
    hr = as_f64(hr_bpm)
    if hr.shape != t.shape:
        raise ValueError(f"time_s and hr_bpm differ in length ({t.shape[0]} vs {hr.shape[0]})")
    dt = np.minimum(backward_dt(t), max_gap_s)
    if moving is not None:
        mask = np.asarray(moving, dtype=bool).reshape(-1)
        if mask.shape != t.shape:
            raise ValueError("moving must have one value per sample")
        dt = np.where(mask, dt, 0.0)
    return dt, hr, valid_hr(hr)


def hr_coverage(time_s: Any, hr_bpm: Any, *, moving: Any = None, max_gap_s: float = 30.0) -> float:
    """Fraction (0..1) of moving time that has a valid heart-rate reading.

    coverage = sum(dt_i where HR_i valid) / sum(dt_i), over moving samples,
    with dt_i = min(t_i - t_{i-1}, max_gap_s) seconds (each sample covers the
    interval since the previous sample; see ``analysis._util``). Valid HR:
    finite and 30..240 bpm (0 is "no signal" on some devices). 0.0 when there
    is no moving time. ``moving=None`` means every sample. The service uses
    TRIMP when coverage >= ``analysis.hr_coverage_for_trimp`` (0.8) and an
    estimated load otherwise.
    """
    dt, _hr, ok = _sample_weights(time_s, hr_bpm, moving, max_gap_s)
    total = float(dt.sum())
    if total <= 0:
        return 0.0
    return float(dt[ok].sum() / total)


def banister_trimp(
    time_s: Any,
    hr_bpm: Any,
    *,
    hr_rest_bpm: float,
    hr_max_bpm: float,
    sex: str,
    moving: Any = None,
    max_gap_s: float = 30.0,
    coefficients: tuple[float, float] | None = None,
) -> float:
    """Banister TRIMP of one activity (arbitrary units, ~minutes at an HR-weighted intensity).

    TRIMP = sum_i dt_min_i * HRr_i * a * exp(b * HRr_i)
    HRr_i = clamp((HR_i - HRrest) / (HRmax - HRrest), 0, 1)

    - dt is taken BACKWARD: dt_i = t_i - t_{i-1} (the sample ends its
      interval; the first sample carries no time), in minutes, capped at
      ``max_gap_s`` (default 30 s, config ``analysis.trimp_max_gap_s``) so a
      recording gap counts as 30 s at most.
    - Only samples with ``moving`` True are summed (``None`` = all); samples
      without a valid HR (NaN, outside 30..240 bpm) contribute nothing.
    - a, b = 0.64, 1.92 for men and 0.86, 1.67 for women (``sex``, config
      ``athlete.sex``); ``coefficients=(a, b)`` overrides them.
    - HRrest/HRmax in bpm: config ``athlete.hr_rest_bpm`` (default
      ``analysis.hr_rest_default_bpm`` = 60) and ``athlete.hr_max_bpm``
      (default: ``hr.hr_max_from_samples``).

    References: Banister E.W. (1991) Modeling elite athletic performance, in
    Physiological Testing of Elite Athletes; Morton R.H., Fitz-Clarke J.R.,
    Banister E.W. (1990) J Appl Physiol 69:1171-1177.
    """
    if not hr_max_bpm > hr_rest_bpm:
        raise ValueError(f"hr_max_bpm ({hr_max_bpm}) must exceed hr_rest_bpm ({hr_rest_bpm})")
    a, b = coefficients if coefficients is not None else banister_coefficients(sex)
    dt, hr, ok = _sample_weights(time_s, hr_bpm, moving, max_gap_s)
    use = ok & (dt > 0)
    hrr = np.clip((hr[use] - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm), 0.0, 1.0)
    return float(np.sum(dt[use] / 60.0 * hrr * a * np.exp(b * hrr)))
