"""Totals that agree with the samples: elapsed, timer, moving time, distance, heart rate.

A file's summary (FIT session, TCX laps) and its samples are two witnesses
of one effort. Where they disagree by more than ``tolerance_s`` the more
consistent one wins and a note says so:

* samples spanning longer than the claimed elapsed time prove it is longer;
* a summary whose duration dwarfs its samples (18,930 s over 5 trackpoints
  4 s apart) is kept when it is physically possible, the samples being a
  fragment; otherwise the samples are;
* timer <= elapsed and moving <= timer always hold;
* moving time is measured from the samples only where they carry speed or
  distance for most of the recording (a pool swim's records do not);
* a distance that would need more than the sport's top speed is replaced by
  the samples' distance, or dropped.
"""
from __future__ import annotations

import numpy as np

from ingest.model import Activity
from ingest.plausible import HR_MAX_BPM, HR_MIN_BPM, bounds_for, hr_or_none

PAUSE_SPEED_MPS = 0.5
MAX_STEP_S = 30.0  # a paused watch writes no samples; a gap counts up to this much (or 2 sampling steps)
COVERAGE = 0.5  # samples describe the effort when they cover this share of it


def tolerance_s(seconds: float) -> float:
    """Disagreements below max(60 s, 5 %) are rounding and auto-pause, not contradictions."""
    return max(60.0, 0.05 * seconds)


def _step_speed(act: Activity) -> tuple[np.ndarray, np.ndarray] | None:
    s = act.streams
    if len(s) < 2:
        return None
    dt = np.diff(s.time_s)
    if s.speed_mps is not None and np.isfinite(s.speed_mps).any():
        return dt, s.speed_mps[1:]
    if s.distance_m is not None and np.isfinite(s.distance_m).any():
        with np.errstate(divide="ignore", invalid="ignore"):
            return dt, np.diff(s.distance_m) / dt
    return None


def moving_seconds(act: Activity) -> tuple[float | None, float]:
    """(seconds at >= 0.5 m/s, share of the span the speed samples cover).

    A step counts up to 30 s, or twice the file's usual sampling interval when
    it records more sparsely (a GPX point a minute), so that a paused watch's
    silence is not counted as moving.
    """
    found = _step_speed(act)
    if found is None:
        return None, 0.0
    dt, v = found
    span = float(act.streams.time_s[-1] - act.streams.time_s[0])
    known = np.isfinite(v) & (dt > 0)
    if not known.any() or span <= 0:
        return None, 0.0
    cap = max(MAX_STEP_S, 2.0 * float(np.median(dt[known])))
    covered = float(np.minimum(dt[known], cap).sum()) / span
    ok = known & (v >= PAUSE_SPEED_MPS)
    return float(np.minimum(dt[ok], cap).sum()), covered


def _sample_distance(act: Activity) -> float | None:
    d = act.streams.distance_m
    if d is None or not np.isfinite(d).any():
        return None
    return float(np.nanmax(d) - max(0.0, float(np.nanmin(d))))


def _km(m: float | None) -> str:
    return "no" if m is None else f"{m / 1000:.1f} km"


def reconcile(act: Activity) -> list[str]:
    """Make elapsed/timer/moving/distance consistent with each other and the samples (in place)."""
    notes: list[str] = []
    s = act.streams
    n = len(s)
    bounds = bounds_for(act.sport)
    span = float(s.time_s[-1] - s.time_s[0]) if n >= 2 else 0.0
    elapsed = float(act.elapsed_s or 0.0)
    timer = act.timer_s if act.timer_s is not None and act.timer_s > 0 else None
    claimed = max(elapsed, timer or 0.0)
    moving, covered = moving_seconds(act) if act.moving_s is None else (act.moving_s, 1.0)
    fragment = n >= 2 and claimed > span + tolerance_s(span) and span < COVERAGE * claimed
    if fragment:
        speed_ok = act.distance_m is None or act.distance_m <= bounds.max_speed_mps * claimed
        if claimed <= bounds.max_duration_s and speed_ok:
            notes.append(f"the file's totals ({claimed:.0f} s, {_km(act.distance_m)}) rest on {n} samples spanning {span:.0f} s: kept the totals")
            elapsed = claimed
            moving = None  # the samples cannot measure it
        else:
            notes.append(f"the file's totals ({claimed:.0f} s, {_km(act.distance_m)}) are impossible for {act.sport}: used the {n} samples instead")
            elapsed, timer = span, None
            act.distance_m = _sample_distance(act)
    elif n >= 2 and elapsed < span - tolerance_s(span):
        notes.append(f"the file's elapsed time ({elapsed:.0f} s) is shorter than its samples span ({span:.0f} s): used the samples")
        elapsed = span
    elif n >= 2 and elapsed > bounds.max_duration_s:
        notes.append(f"the file's elapsed time ({elapsed:.0f} s) is longer than one {act.sport} activity can last: used the samples")
        elapsed = span
    if n < 2 and elapsed > bounds.max_duration_s:
        notes.append(f"the file's elapsed time ({elapsed:.0f} s) is longer than one {act.sport} activity can last")
        elapsed = 0.0  # nothing left to believe: the decoder refuses the activity
    if timer is not None and timer > elapsed + tolerance_s(elapsed):
        notes.append(f"the file's timer time ({timer:.0f} s) exceeds its elapsed time ({elapsed:.0f} s): capped")
        timer = elapsed
    limit = timer if timer is not None else elapsed
    too_fast = moving is not None and act.distance_m is not None and act.distance_m > bounds.max_speed_mps * moving + 100.0
    if moving is None or too_fast or (covered < COVERAGE and moving < COVERAGE * limit):
        moving = limit  # the device's timer is the best measure when samples lack speed
    elif moving > limit + tolerance_s(limit):
        notes.append(f"moving time from the samples ({moving:.0f} s) exceeds the activity's {limit:.0f} s: capped")
    act.elapsed_s, act.timer_s, act.moving_s = elapsed, timer, min(moving, limit) if limit > 0 else moving
    if act.distance_m is not None and act.distance_m < 0:
        act.distance_m = None  # a distance counter that went backwards says nothing
    if act.distance_m is not None and elapsed > 0 and act.distance_m > bounds.max_speed_mps * elapsed + 100.0:
        own = _sample_distance(act)
        keep = own if own is not None and own <= bounds.max_speed_mps * elapsed + 100.0 else None
        notes.append(f"the file's distance ({_km(act.distance_m)} in {elapsed:.0f} s) is impossible for {act.sport}: {'used the samples' if keep is not None else 'dropped'}")
        act.distance_m = keep
    return notes


def reconcile_hr(act: Activity) -> list[str]:
    """Summary heart rates within 30-240 bpm, else from the (cleaned) samples, else None."""
    notes: list[str] = []
    hr = act.streams.hr_bpm
    finite = hr[np.isfinite(hr)] if hr is not None else np.zeros(0)
    for key, stat in (("avg_hr_bpm", np.mean), ("max_hr_bpm", np.max)):
        value = getattr(act, key)
        if value is not None and hr_or_none(value) is None:
            notes.append(f"the file's {key.split('_')[0]} heart rate ({value:g} bpm) is outside {HR_MIN_BPM:g}-{HR_MAX_BPM:g} bpm: treated as missing")
            value = None
        if value is None and finite.size:
            value = float(stat(finite))
        setattr(act, key, value)
    for lap in act.laps:
        lap.avg_hr_bpm = hr_or_none(lap.avg_hr_bpm)
        lap.max_hr_bpm = hr_or_none(lap.max_hr_bpm)
    return notes
