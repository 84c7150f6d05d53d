"""Derived fields every decoder leaves to one place: totals, moving time,
heart-rate summary, time zone, and names/sports from export hints."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from ingest.model import Activity
from ingest.geo import path_length_m

PAUSE_SPEED_MPS = 0.5
MAX_GAP_S = 30.0


@lru_cache(maxsize=1)
def _tzfinder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def timezone_at(lat_deg: float, lon_deg: float) -> str | None:
    try:
        return _tzfinder().timezone_at(lat=float(lat_deg), lng=float(lon_deg))
    except Exception:  # noqa: BLE001 - an odd coordinate just means "unknown"
        return None


def offset_in(tz_name: str, when: datetime) -> int | None:
    try:
        off = when.astimezone(ZoneInfo(tz_name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if off is None else int(off.total_seconds())


def moving_seconds(time_s: np.ndarray, speed_mps: np.ndarray | None, distance_m: np.ndarray | None) -> float | None:
    """Seconds spent at >= 0.5 m/s, each gap counted up to 30 s (a paused watch writes no samples)."""
    if time_s.shape[0] < 2:
        return None
    dt = np.diff(time_s)
    if speed_mps is not None and np.isfinite(speed_mps).any():
        v = speed_mps[1:]
    elif distance_m is not None and np.isfinite(distance_m).any():
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.diff(distance_m) / dt
    else:
        return None
    ok = np.isfinite(v) & (v >= PAUSE_SPEED_MPS) & (dt > 0)
    return float(np.minimum(dt[ok], MAX_GAP_S).sum())


def _fill_timezone(act: Activity, default_tz: str) -> None:
    if act.utc_offset_s is not None:
        return
    lat, lon = act.streams.lat_deg, act.streams.lon_deg
    tz = act.timezone
    source = "file" if tz else None
    if tz is None and lat is not None and lon is not None:
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            i = int(np.argmax(ok))
            tz = timezone_at(lat[i], lon[i])
            source = "coordinates" if tz else None
    if tz is None:
        tz, source = default_tz, "default"
    act.timezone = tz
    act.utc_offset_s = offset_in(tz, act.start_utc) if tz else 0
    if act.utc_offset_s is None:
        act.utc_offset_s = 0
    act.tz_source = act.tz_source or source


def finalize(act: Activity, hints: dict[str, Any], default_tz: str) -> Activity:
    s = act.streams
    n = len(s)
    if (not act.elapsed_s or act.elapsed_s <= 0) and n >= 2:
        act.elapsed_s = float(s.time_s[-1] - s.time_s[0])
    if act.distance_m is None and n >= 2:
        if s.distance_m is not None and np.isfinite(s.distance_m).any():
            act.distance_m = float(np.nanmax(s.distance_m))
        elif s.lat_deg is not None and s.lon_deg is not None:
            act.distance_m = path_length_m(s.lat_deg, s.lon_deg) or None
    if act.moving_s is None:
        act.moving_s = moving_seconds(s.time_s, s.speed_mps, s.distance_m)
        if act.moving_s is None:
            act.moving_s = act.timer_s if act.timer_s else act.elapsed_s
    if s.hr_bpm is not None:
        hr = s.hr_bpm[np.isfinite(s.hr_bpm) & (s.hr_bpm > 0)]
        if hr.size:
            act.avg_hr_bpm = act.avg_hr_bpm or float(hr.mean())
            act.max_hr_bpm = act.max_hr_bpm or float(hr.max())
    if hints.get("name") and not act.name:
        act.name = hints["name"]
    if hints.get("sport") and act.sport in (None, "", "other", "generic"):
        act.sport = hints["sport"]
    _fill_timezone(act, default_tz)
    for leg in act.legs:
        if leg.utc_offset_s is None:
            leg.utc_offset_s, leg.timezone, leg.tz_source = act.utc_offset_s, act.timezone, act.tz_source
        finalize(leg, {}, default_tz)
    return act
