"""Heart-rate anchors (HRrest, HRmax) for TRIMP: configured, or derived from the athlete's data.

HRmax, when not configured, is a high percentile (default 99.5th) of every
heart-rate sample in the window (default 365 days) ending today; when that
window holds no heart rate (an old archive imported alone), the window ends
at the latest day that has some. Samples are kept per activity as a
histogram of whole bpm, which is exact for watch data (heart rate is
recorded in whole bpm) and avoids decoding every stream on each recompute.
"""
from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from analysis.hr import HR_VALID_MAX_BPM, HR_VALID_MIN_BPM, hr_max_from_samples
from heavylegs.metrics.config import DEFAULT_HR_MAX_BPM, AnalysisConfig

HIST_BINS = 256

# A derived HRmax moves a little with every run; only a move of at least this
# much replaces the value in use, because a new HRmax recomputes every TRIMP.
HR_MAX_DEADBAND_BPM = 1.0


@dataclass(frozen=True)
class Anchors:
    hr_rest_bpm: float
    hr_rest_source: str  # "config" | "default"
    hr_max_bpm: float
    hr_max_source: str  # "config" | "p99.5-365d" (percentile, window) | "default"


def hr_histogram(hr_bpm: np.ndarray | None) -> np.ndarray | None:
    """Counts of finite, positive samples per whole bpm; None without any."""
    if hr_bpm is None:
        return None
    hr = hr_bpm[np.isfinite(hr_bpm) & (hr_bpm > 0)]
    if hr.size == 0:
        return None
    bins = np.clip(np.rint(hr), 0, HIST_BINS - 1).astype(np.int64)
    return np.bincount(bins, minlength=HIST_BINS).astype(np.uint32)


def encode_hist(hist: np.ndarray | None) -> bytes | None:
    return None if hist is None else zlib.compress(hist.astype("<u4").tobytes(), 6)


def decode_hist(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    return np.frombuffer(zlib.decompress(blob), dtype="<u4").astype(np.int64)


# hr_max_from_samples' own minimum, so both paths agree on "too little data".
_MIN_SAMPLES = int(inspect.signature(hr_max_from_samples).parameters["min_samples"].default)


def hr_max_from_hist(hist: np.ndarray, percentile: float) -> float | None:
    """``analysis.hr.hr_max_from_samples`` on the samples a whole-bpm histogram stands for.

    Same valid range, minimum count and numpy's linear interpolation, read
    off the cumulative counts instead of sorting a year of samples (a test
    checks the two agree).
    """
    counts = np.asarray(hist, dtype=np.int64).copy()
    bins = np.arange(counts.shape[0], dtype=np.float64)
    counts[(bins < HR_VALID_MIN_BPM) | (bins > HR_VALID_MAX_BPM)] = 0
    cum = np.cumsum(counts)
    n = int(cum[-1]) if cum.size else 0
    if n < max(1, _MIN_SAMPLES):
        return None
    h = (n - 1) * percentile / 100.0
    lo = int(np.floor(h))
    below, above = np.searchsorted(cum, [lo, min(lo + 1, n - 1)], side="right")
    a, b = bins[below], bins[above]
    return float(a + (h - lo) * (b - a))


def derive_hr_max(
    days: Iterable[tuple[date, int]],
    hist_of: Callable[[int], np.ndarray | None],
    today: date,
    window_days: int,
    percentile: float,
) -> float | None:
    """The percentile over the window; ``days`` are (local_date, activity id), any order."""
    ordered = sorted(days, key=lambda d: d[0], reverse=True)
    total: np.ndarray | None = None
    window_start: date | None = None
    for day, act_id in ordered:
        if window_start is not None and day <= window_start:
            break
        hist = hist_of(act_id)
        if hist is None or not hist.any():
            continue
        if window_start is None:
            end = today if day > today - timedelta(days=window_days) else day
            window_start = end - timedelta(days=window_days)
        total = hist.astype(np.int64) if total is None else total + hist
    if total is None:
        return None
    return hr_max_from_hist(total, percentile)


def resolve_anchors(cfg: AnalysisConfig, derived_hr_max: Callable[[], float | None], previous: Anchors | None) -> Anchors:
    """Configured values win; a derived HRmax keeps the previous one within the deadband."""
    if cfg.hr_rest_bpm is not None:
        rest, rest_src = cfg.hr_rest_bpm, "config"
    else:
        rest, rest_src = cfg.hr_rest_default_bpm, "default"
    if cfg.hr_max_bpm is not None:
        return Anchors(rest, rest_src, cfg.hr_max_bpm, "config")
    derived = derived_hr_max()
    if derived is None or not np.isfinite(derived) or derived <= rest:
        return Anchors(rest, rest_src, DEFAULT_HR_MAX_BPM, "default")
    label = cfg.hr_max_label
    if previous is not None and previous.hr_max_source == label and abs(previous.hr_max_bpm - derived) < HR_MAX_DEADBAND_BPM:
        derived = previous.hr_max_bpm
    return Anchors(rest, rest_src, float(derived), label)
