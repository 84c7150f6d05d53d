"""Heart-rate anchors derived from recorded samples."""
from __future__ import annotations

from typing import Any

import numpy as np

from analysis._util import as_f64

# Outside this range a reading is a strap artefact (0 = "no signal" on some devices).
HR_VALID_MIN_BPM = 30.0
HR_VALID_MAX_BPM = 240.0


def valid_hr(hr_bpm: np.ndarray, *, lo: float = HR_VALID_MIN_BPM, hi: float = HR_VALID_MAX_BPM) -> np.ndarray:
    """Mask of plausible heart-rate readings (finite, ``lo <= hr <= hi`` bpm)."""
    with np.errstate(invalid="ignore"):
        valid: np.ndarray = np.isfinite(hr_bpm) & (hr_bpm >= lo) & (hr_bpm <= hi)
    return valid


def hr_max_from_samples(
    hr_bpm: Any,
    percentile: float = 99.5,
    *,
    min_samples: int = 600,
    valid_range_bpm: tuple[float, float] = (HR_VALID_MIN_BPM, HR_VALID_MAX_BPM),
) -> float | None:
    """Observed maximum heart rate, bpm: the ``percentile`` of valid samples.

    A high percentile (default 99.5, config ``analysis.hr_max_percentile``)
    rather than the maximum, because single spikes (static, cadence lock) are
    common in optical and strap data. The service feeds the samples of the last
    ``analysis.hr_max_window_days`` (365) days. Samples outside
    ``valid_range_bpm`` (30..240) or NaN are ignored; with fewer than
    ``min_samples`` valid samples (default 600, ten minutes at 1 Hz) the
    answer is None and the caller falls back to a configured/default value.
    Percentile uses numpy's default linear interpolation.
    """
    hr = as_f64(hr_bpm)
    ok = valid_hr(hr, lo=valid_range_bpm[0], hi=valid_range_bpm[1])
    if int(ok.sum()) < max(1, min_samples):
        return None
    return float(np.percentile(hr[ok], percentile))
