"""Derived fields every decoder leaves to one place: plausible samples, totals,
moving time, heart-rate summary, time zone, and names/sports from export hints."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from ingest.geo import path_length_m
from ingest.model import Activity
from ingest.plausible import check_future, clean_hr, clean_speed, clean_times
from ingest.reconcile import reconcile, reconcile_hr
from ingest.tzsnap import snap_offset


@lru_cache(maxsize=1)
def _tzfinder() -> Any:
    from timezonefinder import TimezoneFinder  # noqa: PLC0415  (loads ~50 MB of shapes: only when a file has GPS and no offset)

    return TimezoneFinder()


def timezone_at(lat_deg: float, lon_deg: float) -> str | None:
    try:
        zone = _tzfinder().timezone_at(lat=float(lat_deg), lng=float(lon_deg))
        return zone if isinstance(zone, str) else None
    except Exception:  # noqa: BLE001 - an odd coordinate just means "unknown"
        return None


def offset_in(tz_name: str, when: datetime) -> int | None:
    try:
        off = when.astimezone(ZoneInfo(tz_name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if off is None else int(off.total_seconds())


def _first_zone(act: Activity) -> str | None:
    lat, lon = act.streams.lat_deg, act.streams.lon_deg
    if lat is None or lon is None:
        return None
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    i = int(np.argmax(ok))
    return timezone_at(lat[i], lon[i])


def _fill_timezone(act: Activity, default_tz: str) -> None:
    if not act.time_known:
        # No real date: an offset would only pretend to know the local day.
        act.utc_offset_s, act.tz_source = act.utc_offset_s or 0, act.tz_source or "default"
        return
    if act.utc_offset_s is not None:
        # The file's own offset, snapped to one a zone has (the GPS zone's when close).
        zone = act.timezone or _first_zone(act)
        zone_off = offset_in(zone, act.start_utc) if zone else None
        snapped = snap_offset(act.utc_offset_s, act.start_utc, zone_off)
        if zone_off is not None and snapped == zone_off:
            act.timezone = act.timezone or zone
        act.utc_offset_s = snapped
        return
    tz = act.timezone
    source = "file" if tz else None
    if tz is None:
        tz = _first_zone(act)
        source = "coordinates" if tz else None
    if tz is None:
        tz, source = default_tz, "default"
    act.timezone = tz
    act.utc_offset_s = offset_in(tz, act.start_utc) if tz else 0
    if act.utc_offset_s is None:
        act.utc_offset_s = 0
    act.tz_source = act.tz_source or source


def finalize(act: Activity, hints: dict[str, Any], default_tz: str) -> Activity:
    """Clean samples to physical bounds, derive missing totals, reconcile them with the
    samples, and settle the time zone; notes name whatever was dropped or replaced."""
    if hints.get("name") and not act.name:
        act.name = hints["name"]
    if hints.get("sport") and act.sport in (None, "", "other", "generic"):
        act.sport = hints["sport"]  # before the checks: the sport sets the bounds
    notes = check_future(act)
    notes += clean_times(act)
    clean_hr(act.streams)
    notes += clean_speed(act)
    s = act.streams
    n = len(s)
    if (not act.elapsed_s or act.elapsed_s <= 0) and n >= 2:
        act.elapsed_s = float(s.time_s[-1] - s.time_s[0])
    if act.distance_m is None and n >= 2:
        if s.distance_m is not None and np.isfinite(s.distance_m).any():
            act.distance_m = float(np.nanmax(s.distance_m))
        elif s.lat_deg is not None and s.lon_deg is not None:
            act.distance_m = path_length_m(s.lat_deg, s.lon_deg) or None
    notes += reconcile(act)
    notes += reconcile_hr(act)
    _fill_timezone(act, default_tz)
    act.notes.extend(notes)
    for index, leg in enumerate(act.legs):
        if leg.utc_offset_s is None:
            leg.utc_offset_s, leg.timezone, leg.tz_source = act.utc_offset_s, act.timezone, act.tz_source
        finalize(leg, {}, default_tz)
        act.notes.extend(f"leg {index + 1}: {note}" for note in leg.notes)
        leg.notes = []
    return act
