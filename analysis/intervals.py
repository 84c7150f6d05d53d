"""Telling structured workouts (intervals, warm-up/cool-down sessions) from steady runs.

A fade or a heart-rate drift only means something on a run meant to be even.
The file's own structure is the best evidence (``lap_structure``); without it
the speeds are searched for a block of repetitions between a warm-up and a
cool-down (``has_rep_block``). Pure numpy, units in names.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis._util import as_f64

REPS_MIN_EXPLAINED = 0.8
REPS_MIN_SHARE = 0.2
# Fast/slow ratio for a rep block: lower than the 1.3 of the plain test because the block must
# also alternate >= 3 times with >= 80 % of the variance explained, which noise and hills do not.
BLOCK_MIN_RATIO = 1.2
# Intensity labels (FIT lap.intensity, TCX Intensity, lower case) that mark a structured session.
REST_LABELS = frozenset({"rest", "recovery", "resting"})
ACTIVE_LABELS = frozenset({"active", "interval"})
WARMUP_LABELS = frozenset({"warmup", "cooldown"})


def _otsu(v: np.ndarray) -> tuple[float, float, float, float] | None:
    """(explained variance share, smaller-group share, low mean, high mean) of the best two-group split of sorted ``v``."""
    n = v.shape[0]
    total = float(((v - v.mean()) ** 2).sum())
    if n < 2 or total <= 0:
        return None
    k = np.arange(1, n)
    low_sum = np.cumsum(v)[:-1]
    low_mean, high_mean = low_sum / k, (v.sum() - low_sum) / (n - k)
    between = k * (n - k) / n * (high_mean - low_mean) ** 2
    best = int(np.argmax(between))
    share = min(k[best], n - k[best]) / n
    return float(between[best] / total), float(share), float(low_mean[best]), float(high_mean[best])


def has_reps(speeds_mps: np.ndarray, min_ratio: float = 1.3) -> bool:
    """Whether split speeds (m/s) form a fast and a slow group.

    Split at the threshold that maximises the between-group variance (Otsu N.
    (1979) IEEE Trans SMC 9:62-66): reps when that split explains >= 80 % of
    the variance, each group holds >= 20 % of the splits and the fast group's
    mean is >= ``min_ratio`` (default 1.3) times the slow one's. Needs >= 5 splits.
    """
    v = np.sort(speeds_mps[np.isfinite(speeds_mps)])
    if v.shape[0] < 5 or v[0] <= 0:
        return False
    got = _otsu(v)
    if got is None:
        return False
    explained, share, low, high = got
    return bool(explained >= REPS_MIN_EXPLAINED and share >= REPS_MIN_SHARE and high >= min_ratio * low)


def has_rep_block(speeds_mps: np.ndarray, min_ratio: float = 1.3, min_reps: int = 3) -> bool:
    """Whether consecutive split speeds (m/s, whole run) hold a block of >= ``min_reps`` fast reps.

    The fast splits are those above the Otsu threshold of all splits; the
    block runs from the first to the last fast split, which leaves out a
    warm-up and a cool-down (they are slow, and their pace differs from the
    recovery jogs, which is why a test over the whole run or its first half
    fails). Inside the block the splits must pass ``has_reps`` and the fast
    splits must form >= ``min_reps`` separate runs (fast, slow, fast, ...).
    A steady, progressive or hilly run has no such alternation.
    """
    v = as_f64(speeds_mps)
    ok = np.isfinite(v) & (v > 0)
    if ok.sum() < 8:
        return False
    v = v[ok]
    srt = np.sort(v)
    got = _otsu(srt)
    if got is None:
        return False
    _, _, low, high = got
    if high < min_ratio * low:
        return False
    fast = v >= 0.5 * (low + high)
    idx = np.flatnonzero(fast)
    block = v[idx[0] : idx[-1] + 1]
    fb = fast[idx[0] : idx[-1] + 1]
    reps = int(fb[0]) + int(np.count_nonzero(fb[1:] & ~fb[:-1]))
    return reps >= min_reps and has_reps(block, min_ratio)


def lap_structure(
    intensities: Sequence[str | None],
    lap_distance_m: Sequence[Any] = (),
    lap_timer_s: Sequence[Any] = (),
    min_ratio: float = 1.3,
) -> str | None:
    """What the laps of a file say about a session: "intervals", "workout" or None (no evidence).

    - "intervals": >= 2 laps marked active/interval and >= 1 marked rest/recovery
      (FIT ``lap.intensity``, TCX ``Intensity`` is only Active/Resting), or
      >= 5 laps whose speeds (distance / timer time) split into a fast and a
      slow group (``has_reps``) with >= 2 fast laps not next to each other.
    - "workout": a lap marked warmup or cooldown (a structured session, e.g. a
      tempo run between an easy warm-up and cool-down).
    Such runs are not steady: their fade and decoupling are not judged.
    """
    labels = [str(x).strip().lower() for x in intensities if x]
    n_active = sum(1 for x in labels if x in ACTIVE_LABELS)
    if n_active >= 2 and any(x in REST_LABELS for x in labels):
        return "intervals"
    d, t = as_f64(list(lap_distance_m) or []), as_f64(list(lap_timer_s) or [])
    if d.shape[0] >= 5 and d.shape == t.shape:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where((t > 0) & np.isfinite(d), d / t, np.nan)
        got = _otsu(np.sort(v[np.isfinite(v)]))
        if got is not None and has_reps(v, min_ratio):
            fast = v >= 0.5 * (got[2] + got[3])
            runs = int(fast[0]) + int(np.count_nonzero(fast[1:] & ~fast[:-1]))
            if runs >= 2:
                return "intervals"
    if any(x in WARMUP_LABELS for x in labels):
        return "workout"
    return None
