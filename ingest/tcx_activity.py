"""Turn the raw parts of one TCX ``<Activity>`` into an ``ingest.model.Activity``.

Totals follow the TCX semantics: lap ``TotalTimeSeconds`` is timer time
(pauses excluded), so elapsed time comes from the trackpoints and timer time
from the laps; distance is the sum of the laps' ``DistanceMeters``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from lxml.etree import _Element

from ingest.model import RUNNING_SPORTS, Activity, Lap, Streams
from ingest.plausible import HR_MAX_BPM, HR_MIN_BPM
from ingest.xmlmeta import device_from_creator, sport_from_tcx
from ingest.xmlsafe import local
from ingest.xmltime import local_offset_s, parse_times, to_datetime
from ingest.xmltrack import build_streams, cumulative_distance, hr_summary, order_points, seconds_since, to_float

# Column layout of one raw trackpoint (shared with ingest.tcx).
LAT, LON, ALT, DIST, HR, CAD, RUNCAD, SPEED, POWER = range(9)
WIDTH = 9


@dataclass
class RawLap:
    start: str | None
    timer_s: float = float("nan")
    distance_m: float = float("nan")
    avg_hr_bpm: float = float("nan")
    max_hr_bpm: float = float("nan")
    intensity: str | None = None
    trigger: str | None = None


@dataclass
class ActivityParts:
    flat: list[float] = field(default_factory=list)  # WIDTH floats per trackpoint
    times: list[str | None] = field(default_factory=list)
    laps: list[RawLap] = field(default_factory=list)
    sport_attr: str | None = None
    id_text: str | None = None
    notes_text: str | None = None
    creator: str | None = None
    plan_name: str | None = None


def read_lap(el: _Element) -> RawLap:
    """A ``<Lap>``'s summary (its trackpoints were consumed already)."""
    lap = RawLap(start=el.get("StartTime"))
    for child in el:
        name = local(child.tag)
        if name == "TotalTimeSeconds":
            lap.timer_s = to_float(child.text)
        elif name == "DistanceMeters":
            lap.distance_m = to_float(child.text)
        elif name in ("Intensity", "TriggerMethod") and child.text and child.text.strip():
            label = child.text.strip().lower()[:32]
            if name == "Intensity":
                lap.intensity = label
            else:
                lap.trigger = label
        elif name in ("AverageHeartRateBpm", "MaximumHeartRateBpm"):
            value = next(iter(child.iter("{*}Value")), None)
            number = to_float(value.text) if value is not None else float("nan")
            if name == "AverageHeartRateBpm":
                lap.avg_hr_bpm = number
            else:
                lap.max_hr_bpm = number
    return lap


def _opt(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _name(parts: ActivityParts) -> str | None:
    """The workout plan's name (Polar), else the first line of the notes."""
    for text in (parts.plan_name, parts.notes_text):
        if text and text.strip():
            return text.strip().splitlines()[0].strip()[:120]
    return None


def _laps(raw: list[RawLap], starts: np.ndarray, origin: np.datetime64, end_s: float | None) -> list[Lap]:
    offsets = [float(seconds_since(s[None], origin)[0]) if not np.isnat(s) else None for s in starts]
    laps: list[Lap] = []
    for i, lap in enumerate(raw):
        offset = offsets[i]
        nxt = next((o for o in offsets[i + 1:] if o is not None), None)
        elapsed = None
        if offset is not None:
            elapsed = (nxt - offset) if nxt is not None else (end_s - offset if end_s is not None else None)
        laps.append(Lap(
            start_offset_s=offset if offset is not None else 0.0,
            elapsed_s=elapsed if elapsed is None or elapsed >= 0 else None,
            timer_s=_opt(lap.timer_s),
            distance_m=_opt(lap.distance_m),
            avg_hr_bpm=_opt(lap.avg_hr_bpm),
            max_hr_bpm=_opt(lap.max_hr_bpm),
            intensity=lap.intensity,
            trigger=lap.trigger,
        ))
    return laps


def _bounded_hr(values: list[float]) -> np.ndarray:
    """Lap heart rates with the "no data" values (0, 255, anything outside 30-240) as NaN."""
    hr = np.array(values, dtype=np.float64)
    return np.where((hr >= HR_MIN_BPM) & (hr <= HR_MAX_BPM), hr, np.nan)


def _cadence(pts: np.ndarray, sport: str) -> np.ndarray:
    # RunCadence counts one leg (strides/min). Polar puts running cadence, also one
    # leg, in the plain Cadence element; on a bike Cadence is crank rpm and stays.
    run = pts[:, RUNCAD] * 2.0
    plain = pts[:, CAD] * (2.0 if sport in RUNNING_SPORTS else 1.0)
    return np.where(np.isfinite(run), run, plain)


def build_activity(parts: ActivityParts) -> Activity | None:
    """The Activity, or None when it has neither timed trackpoints nor timed laps."""
    sport = sport_from_tcx(parts.sport_attr)
    n = len(parts.times)
    lap_starts = parse_times([lap.start for lap in parts.laps])
    ordered = order_points(parse_times(parts.times), np.zeros(n, dtype=np.int64)) if n else None
    notes: list[str] = []
    if ordered is not None and ordered.index.size:
        origin = ordered.times[0]
        pts = np.array(parts.flat, dtype=np.float64).reshape(n, WIDTH)[ordered.index]
        dist = pts[:, DIST] if bool(np.isfinite(pts[:, DIST]).any()) else cumulative_distance(pts[:, LAT], pts[:, LON], ordered.segments)
        streams = build_streams(seconds_since(ordered.times, origin), {
            "distance_m": dist, "lat_deg": pts[:, LAT], "lon_deg": pts[:, LON], "altitude_m": pts[:, ALT],
            "speed_mps": pts[:, SPEED], "hr_bpm": pts[:, HR], "cadence_spm": _cadence(pts, sport), "power_w": pts[:, POWER],
        })
        end_s: float | None = float(streams.time_s[-1])
        notes = ordered.notes
        offset = local_offset_s(parts.times[int(ordered.index[0])])
    else:
        known = lap_starts[~np.isnat(lap_starts)]
        fallback = parse_times([parts.id_text])
        if known.size:
            origin = known.min()
        elif not np.isnat(fallback[0]):
            origin = fallback[0]
        else:
            return None
        streams, end_s, offset = Streams.empty(), None, local_offset_s(parts.id_text)
        notes = ["no timed trackpoints: totals come from the laps"]
        if not parts.laps:
            return None

    lap_timer = np.array([lap.timer_s for lap in parts.laps], dtype=np.float64)
    lap_dist = np.array([lap.distance_m for lap in parts.laps], dtype=np.float64)
    timer_s = float(np.nansum(lap_timer)) if np.isfinite(lap_timer).any() else None
    distance_m = float(np.nansum(lap_dist)) if np.isfinite(lap_dist).any() else None
    if distance_m is None and streams.distance_m is not None:
        finite = streams.distance_m[np.isfinite(streams.distance_m)]
        distance_m = float(finite[-1]) if finite.size else None
    elapsed_s = end_s if end_s else (timer_s or 0.0)

    avg_hr, max_hr = hr_summary(streams.hr_bpm)
    lap_avg = _bounded_hr([lap.avg_hr_bpm for lap in parts.laps])
    weighted = np.isfinite(lap_avg) & np.isfinite(lap_timer) & (lap_timer > 0)
    if weighted.any():  # the device's own averages beat ours over a resampled stream
        avg_hr = float(np.average(lap_avg[weighted], weights=lap_timer[weighted]))
    lap_max = _bounded_hr([lap.max_hr_bpm for lap in parts.laps])
    if np.isfinite(lap_max).any():
        max_hr = float(np.nanmax(lap_max))

    manufacturer, product = device_from_creator(parts.creator)
    return Activity(
        start_utc=to_datetime(origin),
        sport=sport,
        format="tcx",
        elapsed_s=float(elapsed_s),
        name=_name(parts),
        utc_offset_s=offset,
        tz_source="file" if offset is not None else None,
        manufacturer=manufacturer,
        product=product,
        timer_s=timer_s,
        distance_m=distance_m,
        avg_hr_bpm=avg_hr,
        max_hr_bpm=max_hr,
        laps=_laps(parts.laps, lap_starts, origin, end_s),
        streams=streams,
        notes=notes,
    )
