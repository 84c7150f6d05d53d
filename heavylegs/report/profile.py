"""Pace and heart rate of one run in fixed-distance segments, for the long-run chart.

Per segment, pace = moving time / distance and grade-adjusted pace = moving
time / grade-adjusted distance (``analysis.gap``), so pauses do not show as
slow running and short GPS jitter averages out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis._util import backward_dt
from analysis.gap import gap_distance_m
from analysis.hr import valid_hr
from analysis.moving import moving_mask
from analysis.runs import RunParams, run_metrics
from ingest.model import Streams

MIN_SEGMENT_M = 200.0
MAX_SEGMENTS = 120


@dataclass(frozen=True)
class RunProfile:
    title: str
    distance_km: np.ndarray  # segment centres
    pace_raw_min_km: np.ndarray
    pace_gap_min_km: np.ndarray
    hr_bpm: np.ndarray | None  # time-weighted mean per segment
    early_range_m: tuple[float, float]
    late_range_m: tuple[float, float]


DEFAULT_PARAMS = RunParams()  # frozen, so one shared default is safe


def _per_segment(cum: np.ndarray, d: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.diff(np.interp(edges, d, cum))


def run_profile(s: Streams, title: str, *, treadmill: bool = False, params: RunParams = DEFAULT_PARAMS) -> RunProfile | None:
    """None when the run has no usable distance."""
    if len(s) < 2 or s.distance_m is None or not np.isfinite(s.distance_m).any():
        return None
    t = s.time_s
    ok = np.isfinite(s.distance_m)
    d = np.maximum.accumulate(np.interp(t, t[ok], s.distance_m[ok]))
    total = float(d[-1] - d[0])
    if total < 2 * MIN_SEGMENT_M:
        return None
    rm = run_metrics(
        t, d, speed_mps=s.speed_mps, altitude_m=s.altitude_m, hr_bpm=s.hr_bpm, treadmill=treadmill, params=params
    )
    moving = moving_mask(t, s.speed_mps, d, pause_speed_mps=params.pause_speed_mps, max_gap_s=params.max_gap_s)
    dt = np.where(moving, backward_dt(t), 0.0)
    mt = np.cumsum(dt)
    alt = None if treadmill else s.altitude_m
    g = gap_distance_m(d, alt, smoothing_m=params.gap_smoothing_m, max_grade=params.gap_max_grade)
    seg = max(MIN_SEGMENT_M, total / MAX_SEGMENTS)
    edges = np.arange(d[0], d[-1] + 1e-9, seg)
    if edges.size < 3:
        return None
    seg_t = _per_segment(mt, d, edges)
    seg_d = np.diff(edges)
    seg_g = _per_segment(g, d, edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(seg_t > 0, seg_t / seg_d * 1000.0 / 60.0, np.nan)
        gap = np.where((seg_t > 0) & (seg_g > 0), seg_t / seg_g * 1000.0 / 60.0, np.nan)
    hr_seg = None
    if s.hr_bpm is not None:
        valid = valid_hr(s.hr_bpm)
        w = np.where(valid, dt, 0.0)
        hr_t = _per_segment(np.cumsum(np.where(valid, s.hr_bpm, 0.0) * w), d, edges)
        w_t = _per_segment(np.cumsum(w), d, edges)
        with np.errstate(divide="ignore", invalid="ignore"):
            hr_seg = np.where(w_t > 0, hr_t / w_t, np.nan)
        if not np.isfinite(hr_seg).any():
            hr_seg = None
    # run_metrics positions are along the moving distance, which starts at 0.
    shift = float(d[0])
    return RunProfile(
        title=title,
        distance_km=(edges[:-1] + seg_d / 2 - shift) / 1000.0,
        pace_raw_min_km=raw,
        pace_gap_min_km=gap,
        hr_bpm=hr_seg,
        early_range_m=rm.early_range_m,
        late_range_m=rm.late_range_m,
    )
