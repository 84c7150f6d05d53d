"""Strava summaries and streams -> the normalised Activity.

Strava's ``cadence`` stream counts one leg (revolutions per minute, as on a
bike), so runs are doubled to steps per minute. Stream arrays are aligned
on ``time``; a stream of another length is cut or padded with NaN.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ingest.model import RUNNING_SPORTS, Activity, Streams

SPORTS = {
    "Run": "running",
    "TrailRun": "trail_running",
    "VirtualRun": "treadmill_running",
    "Walk": "walking",
    "Hike": "hiking",
    "Ride": "cycling",
    "VirtualRide": "cycling",
    "GravelRide": "cycling",
    "MountainBikeRide": "cycling",
    "Swim": "swimming",
    "WeightTraining": "strength_training",
    "Rowing": "rowing",
}
_TZ = re.compile(r"^\(GMT[+-]\d\d:\d\d\)\s*(\S+)$")


def sport_type(summary: dict[str, Any]) -> str:
    return str(summary.get("sport_type") or summary.get("type") or "")


def wanted(summary: dict[str, Any], sport_types: Iterable[str]) -> bool:
    return sport_type(summary) in set(sport_types)


def sport_of(summary: dict[str, Any]) -> tuple[str, str | None]:
    """(sport, sub_sport): a Run on a trainer is a treadmill run."""
    kind = sport_type(summary)
    if kind == "Run" and summary.get("trainer"):
        return "treadmill_running", "treadmill"
    if kind == "VirtualRun":
        return "treadmill_running", "virtual_activity"
    return SPORTS.get(kind, "other"), None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def tz_name(strava_tz: str | None) -> str | None:
    """'(GMT+01:00) Europe/Paris' -> 'Europe/Paris'."""
    if not strava_tz:
        return None
    found = _TZ.match(strava_tz.strip())
    return found.group(1) if found else None


def match_key(summary: dict[str, Any]) -> dict[str, Any]:
    """What the store's find_match needs, from a summary alone (no streams request)."""
    return {
        "start_ts": parse_time(summary["start_date"]).timestamp(),
        "elapsed_s": float(summary.get("elapsed_time") or 0),
        "distance_m": float(summary["distance"]) if summary.get("distance") else None,
        "format": "strava",
    }


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def to_activity(summary: dict[str, Any], streams: dict[str, Any] | None) -> Activity:
    sport, sub = sport_of(summary)
    offset = summary.get("utc_offset")
    return Activity(
        start_utc=parse_time(summary["start_date"]),
        sport=sport,
        sub_sport=sub,
        format="strava",
        name=summary.get("name"),
        elapsed_s=float(summary.get("elapsed_time") or 0),
        moving_s=_num(summary.get("moving_time")),
        distance_m=_num(summary.get("distance")),
        utc_offset_s=None if offset is None else int(round(float(offset))),
        timezone=tz_name(summary.get("timezone")),
        tz_source="strava",
        product=summary.get("device_name"),
        avg_hr_bpm=_num(summary.get("average_heartrate")),
        max_hr_bpm=_num(summary.get("max_heartrate")),
        streams=to_streams(streams or {}, running=sport in RUNNING_SPORTS),
    )


def _data(streams: dict[str, Any], key: str) -> list[Any] | None:
    entry = streams.get(key)
    data = entry.get("data") if isinstance(entry, dict) else None
    if isinstance(data, list):
        return data
    return None


def _column(values: list[Any] | None, n: int, scale: float = 1.0) -> np.ndarray | None:
    if values is None:
        return None
    out = np.full(n, np.nan)
    arr = np.array([np.nan if v is None else float(v) for v in values[:n]], dtype=np.float64)
    out[: arr.shape[0]] = arr * scale
    return out


def to_streams(streams: dict[str, Any], running: bool) -> Streams:
    """Key-by-type streams (``{"time": {"data": [...]}, ...}``) -> Streams."""
    times = _data(streams, "time")
    if not times:
        return Streams.empty()
    n = len(times)
    lat = lon = None
    latlng = _data(streams, "latlng")
    if latlng is not None:
        pairs = [p if isinstance(p, (list, tuple)) and len(p) == 2 else (None, None) for p in latlng]
        lat = _column([p[0] for p in pairs], n)
        lon = _column([p[1] for p in pairs], n)
    return Streams(
        time_s=np.array(times, dtype=np.float64),
        distance_m=_column(_data(streams, "distance"), n),
        lat_deg=lat,
        lon_deg=lon,
        altitude_m=_column(_data(streams, "altitude"), n),
        speed_mps=_column(_data(streams, "velocity_smooth"), n),
        hr_bpm=_column(_data(streams, "heartrate"), n),
        cadence_spm=_column(_data(streams, "cadence"), n, 2.0 if running else 1.0),
        power_w=_column(_data(streams, "watts"), n),
        temperature_c=_column(_data(streams, "temp"), n),
    )
