"""Physical bounds every stored activity obeys, and the sample cleaning that enforces them.

Files carry sentinels and glitches: heart rate 0, 254 or 255 for "no data",
placeholder dates (1989-12-31T00:00:00Z, the FIT epoch), a point stamped a
year away from the rest, a GPS jump of 2,655 km in 10 s. A value outside
these bounds is missing, never a number; what is dropped is named in the
activity's notes so that the import report can show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from ingest.model import Activity, Streams

# The analysis uses only this range (analysis/trimp.py); below 30 or above 240 bpm no
# human heart beats during exercise, and 0/254/255 are the formats' "no data" values.
HR_MIN_BPM = 30.0
HR_MAX_BPM = 240.0

# Two consecutive samples further apart than this are not one recording.
MAX_GAP_S = 12 * 3600.0
# Time zones and clock drift put an honest start up to a day ahead of UTC "now".
FUTURE_SLACK = timedelta(days=2)
# Shortest effort kept on timestamps alone (no value in any sample, no timer or distance).
MIN_EFFORT_S = 60.0
# A distance step is a glitch when it beats the sport's top speed by more than this.
JUMP_SLACK_M = 500.0


@dataclass(frozen=True)
class SportBounds:
    max_speed_mps: float  # fastest sample, and fastest average over the activity
    max_duration_s: float  # longest elapsed time of one activity


_H = 3600.0
# Speeds: sprint top speed 12.4 m/s; race walking 4.5 m/s; swimming 2.4 m/s; rowing
# 6.5 m/s; cycling descents ~30 m/s. Durations: the longest single efforts people
# record in one file (24-h and multi-day ultras, long brevets).
BOUNDS: dict[str, SportBounds] = {
    "running": SportBounds(12.5, 48 * _H),
    "treadmill_running": SportBounds(12.5, 24 * _H),
    "trail_running": SportBounds(12.5, 72 * _H),
    "walking": SportBounds(7.0, 48 * _H),
    "hiking": SportBounds(7.0, 72 * _H),
    "swimming": SportBounds(4.0, 24 * _H),
    "rowing": SportBounds(8.0, 24 * _H),
    "cycling": SportBounds(35.0, 96 * _H),
    "strength_training": SportBounds(12.5, 12 * _H),
}
# Any other sport (other, multisport, skiing, ...): the bound of a fast descent on skis.
DEFAULT_BOUNDS = SportBounds(50.0, 96 * _H)

# Dates devices write for "no time": GPS epoch, FIT epoch, and common resets.
PLACEHOLDER_UNIX = frozenset(
    int(datetime(*ymd, tzinfo=timezone.utc).timestamp())
    for ymd in ((1980, 1, 1), (1980, 1, 6), (1989, 12, 31), (1990, 1, 1), (2000, 1, 1), (2001, 1, 1))
)


def bounds_for(sport: str | None) -> SportBounds:
    return BOUNDS.get(sport or "", DEFAULT_BOUNDS)


def hr_or_none(value: float | None) -> float | None:
    """A heart-rate summary value, or None when it is a sentinel or out of bounds."""
    if value is None or not np.isfinite(value) or not HR_MIN_BPM <= value <= HR_MAX_BPM:
        return None
    return float(value)


def clean_hr(streams: Streams) -> None:
    """Heart-rate samples outside 30-240 bpm become NaN (in place)."""
    hr = streams.hr_bpm
    if hr is None:
        return
    bad = np.isfinite(hr) & ((hr < HR_MIN_BPM) | (hr > HR_MAX_BPM))
    if bad.any():
        hr = hr.copy()
        hr[bad] = np.nan
        streams.hr_bpm = hr if np.isfinite(hr).any() else None


def _keep(act: Activity, mask: np.ndarray) -> None:
    """Keep the samples in ``mask``; the start moves to the first one kept."""
    s = act.streams
    present = s.present()
    kept = {name: values[mask] for name, values in present.items()}
    shift = float(kept["time_s"][0]) if kept["time_s"].size else 0.0
    kept["time_s"] = kept["time_s"] - shift
    columns: dict[str, Any] = {k: (v if k == "time_s" or np.isfinite(v).any() else None) for k, v in kept.items()}
    act.streams = Streams(**columns)
    if shift:
        act.start_utc = act.start_utc + timedelta(seconds=shift)
        for lap in act.laps:
            lap.start_offset_s = max(0.0, lap.start_offset_s - shift)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt_time(act: Activity, offset_s: float) -> str:
    return (act.start_utc + timedelta(seconds=float(offset_s))).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_future(act: Activity, now: datetime | None = None) -> list[str]:
    """A start after tomorrow is a wrong device clock, not a date: the time becomes unknown."""
    now = now or datetime.now(timezone.utc)
    if not act.time_known or act.start_utc <= now + FUTURE_SLACK:
        return []
    act.time_known = False
    for leg in act.legs:
        leg.time_known = False
    return [f"the file's date ({act.start_utc:%Y-%m-%dT%H:%M:%SZ}) is in the future: the date is unknown until you set it (heavylegs set-start)"]


def clean_times(act: Activity) -> list[str]:
    """Drop placeholder and stray times, keep the main part of a track split by an absurd gap,
    and trim a recording longer than its sport allows. Returns notes."""
    notes: list[str] = []
    s = act.streams
    if len(s) == 0:
        return notes
    start = act.start_utc.timestamp()
    bad = ~np.isfinite(s.time_s)
    if act.time_known:
        placeholder = np.zeros(len(s), dtype=bool)
        placeholder[~bad] = np.isin(np.round(start + s.time_s[~bad]).astype(np.int64), list(PLACEHOLDER_UNIX))
        if placeholder.any() and not placeholder.all():
            notes.append(f"dropped {int(placeholder.sum())} samples with a placeholder time ({_fmt_time(act, s.time_s[placeholder][0])})")
            bad |= placeholder
    if bad.any():
        _keep(act, ~bad)
        s = act.streams
    if len(s) >= 2:
        cuts = np.flatnonzero(np.diff(s.time_s) > MAX_GAP_S) + 1
        if cuts.size:
            parts = np.split(np.arange(len(s)), cuts)
            main = max(range(len(parts)), key=lambda i: (parts[i].size, -i))
            dropped = len(s) - parts[main].size
            notes.append(
                f"dropped {_count(dropped, 'sample')} separated from the rest of the track by more than "
                f"{MAX_GAP_S / 3600:.0f} h (kept {_fmt_time(act, s.time_s[parts[main][0]])} to {_fmt_time(act, s.time_s[parts[main][-1]])})"
            )
            mask = np.zeros(len(s), dtype=bool)
            mask[parts[main]] = True
            _keep(act, mask)
            s = act.streams
    limit = bounds_for(act.sport).max_duration_s
    if len(s) >= 2 and s.time_s[-1] > limit:
        over = s.time_s > limit
        notes.append(
            f"dropped {int(over.sum())} samples after {limit / 3600:.0f} h, longer than one {act.sport} activity can last"
        )
        _keep(act, ~over)
    return notes


def clean_speed(act: Activity) -> list[str]:
    """Speed samples above the sport's bound become NaN; distance steps covered faster
    than it (GPS jumps, sensor glitches) are not counted. Returns notes."""
    notes: list[str] = []
    s = act.streams
    vmax = bounds_for(act.sport).max_speed_mps
    if s.speed_mps is not None:
        fast = np.isfinite(s.speed_mps) & (s.speed_mps > vmax)
        if fast.any():
            speed = s.speed_mps.copy()
            speed[fast] = np.nan
            s.speed_mps = speed if np.isfinite(speed).any() else None
            notes.append(f"dropped {int(fast.sum())} speed samples above {vmax:g} m/s")
    d = s.distance_m
    if d is None or len(s) < 2:
        return notes
    where = np.flatnonzero(np.isfinite(d))
    if where.size < 2:
        return notes
    steps = np.diff(d[where])
    dt = np.diff(s.time_s[where])
    # Slack: times are rounded to whole seconds, and some sensors (virtual rides, footpods)
    # write distance in bursts; a teleport of 500 m or more is what this is for.
    jump = steps > vmax * np.maximum(dt, 1.0) + JUMP_SLACK_M
    if jump.any():
        if act.distance_m is not None and abs(act.distance_m - float(np.nanmax(d))) < 1.0:
            act.distance_m = None  # the decoder's total was this stream's: derive it again
        dropped_m = float(steps[jump].sum())
        steps = np.where(jump, 0.0, steps)
        fixed = d.copy()
        fixed[where] = d[where[0]] + np.concatenate(([0.0], np.cumsum(steps)))
        s.distance_m = fixed
        notes.append(f"dropped {dropped_m / 1000:.1f} km of distance covered faster than {vmax:g} m/s ({_count(int(jump.sum()), 'jump')})")
    return notes


def has_plausible_sample(act: Activity) -> bool:
    """At least two samples at distinct times carry a measured value, or the file
    has a real date and its own totals (or timestamps) describe at least a minute
    of effort: laps without trackpoints, a sensor whose records carry only
    timestamps (a Moxy), a strength session."""
    s = act.streams
    if len(s) >= 2:
        valued = np.zeros(len(s), dtype=bool)
        for name, values in s.present().items():
            if name != "time_s":
                valued |= np.isfinite(values)
        times = s.time_s[valued]
        if times.size >= 2 and times[-1] > times[0]:
            return True
    summary = bool(act.timer_s) or bool(act.distance_m) or (act.elapsed_s or 0.0) >= MIN_EFFORT_S
    return act.time_known and summary and bool(act.elapsed_s and act.elapsed_s > 0)
