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
