"""FitMessages -> normalised ``Activity`` objects (one per file; multisport parts as legs)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from ingest.errors import DecodeError, NotAnActivity
from ingest.fit.clock import apply_shift, drop_system_times, find_shift, first_system_time, needs_clock
from ingest.fit.messages import FitMessages
from ingest.fit.multisport import build_legs, combined_sport, session_bounds
from ingest.fit.multisport import fit_time as _unix
from ingest.fit.reference import FIT_EPOCH_UNIX
from ingest.fit.sports import cadence_factor, sport_of
from ingest.fit.streams import build_streams, hr_from_beats, merge_by_timestamp
from ingest.model import Activity, Lap, Streams
from ingest.plausible import HR_MAX_BPM, HR_MIN_BPM, hr_or_none

_MAX_OFFSET_S = 14 * 3600
_QUARTER_HOUR_S = 900
# FIT date_time values below 0x10000000 are device system time, not a date (FIT SDK).
_CLOCK_SET_UNIX = 0x10000000 + FIT_EPOCH_UNIX


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def file_type_label(msgs: FitMessages) -> str | None:
    """The file_id type when it is not ``activity`` (None when absent or activity)."""
    file_id = msgs.first("file_id") or {}
    kind = file_id.get("type")
    if kind is None or kind == "activity":
        return None
    if isinstance(kind, str) and kind.startswith("monitoring"):
        return "monitoring"
    return str(kind).replace("_", " ")


def _with_beat_hr(rec: dict[str, np.ndarray], msgs: FitMessages) -> dict[str, np.ndarray]:
    """Fill heart rate the records lack from buffered ``hr`` beats (HRM-Swim/Tri)."""
    hr = msgs.columns.get("hr")
    if not hr or hr["event_timestamp"].size == 0:
        return rec
    beat_t, beat_bpm = hr["event_timestamp"], hr["filtered_bpm"]
    if not rec.get("timestamp", np.zeros(0)).size:
        # no records: resample the beats onto whole seconds
        times = np.arange(np.ceil(np.nanmin(beat_t)), np.floor(np.nanmax(beat_t)) + 1.0)
        return {"timestamp": times, "heart_rate": hr_from_beats(times, beat_t, beat_bpm)}
    filled = hr_from_beats(rec["timestamp"], beat_t, beat_bpm)
    own = rec.get("heart_rate")
    out = dict(rec)
    out["heart_rate"] = filled if own is None else np.where(np.isfinite(filled), filled, own)
    return out


def _utc_offset(msgs: FitMessages) -> int | None:
    """Local minus UTC time from the activity message, in whole seconds.

    Not rounded here: ``ingest.finalize`` snaps it to an offset some time zone
    really has (a watch's local_timestamp may be minutes off its UTC one).
    """
    activity = msgs.first("activity") or {}
    local, utc = _unix(activity.get("local_timestamp")), _unix(activity.get("timestamp"))
    if local is None or utc is None or utc < _CLOCK_SET_UNIX:
        return None
    offset = int(round(local - utc))
    return offset if abs(offset) <= _MAX_OFFSET_S + _QUARTER_HOUR_S else None


def _set_clock(msgs: FitMessages) -> str | None:
    """Shift device system times to real ones when the file says how (``ingest.fit.clock``)."""
    if not needs_clock(msgs):
        return None
    found = find_shift(msgs, first_system_time(msgs))
    if found is None:
        dropped = drop_system_times(msgs)
        return f"dropped {dropped} records stamped with the device's power-on time, not a date" if dropped else None
    shift, source = found
    apply_shift(msgs, shift)
    return f"device clock was not set: real time taken from {source}"


def _device(msgs: FitMessages) -> tuple[str | None, str | None]:
    source = msgs.first("file_id") or {}
    if source.get("manufacturer") is None:
        creators = [d for d in msgs.messages.get("device_info", []) if d.get("device_index") in ("creator", 0)]
        source = creators[0] if creators else source
    manufacturer = source.get("manufacturer")
    product = source.get("garmin_product")
    if not isinstance(product, str):
        product = source.get("product_name") or source.get("product")
    return (str(manufacturer) if manufacturer is not None else None, str(product) if product is not None else None)


def _label(value: Any) -> str | None:
    # Enum names come as strings; an enum value unknown to the profile stays a number and means nothing to us.
    return value.strip().lower()[:32] or None if isinstance(value, str) else None


def _laps(msgs: FitMessages, start: float, end: float) -> list[Lap]:
    laps = []
    for lap in msgs.messages.get("lap", []):
        lap_start = _unix(lap.get("start_time"))
        if lap_start is None or not start <= lap_start < end:
            continue
        laps.append(
            Lap(
                start_offset_s=lap_start - start,
                elapsed_s=_num(lap.get("total_elapsed_time")),
                timer_s=_num(lap.get("total_timer_time")),
                distance_m=_num(lap.get("total_distance")),
                avg_hr_bpm=_num(lap.get("avg_heart_rate")),
                max_hr_bpm=_num(lap.get("max_heart_rate")),
                intensity=_label(lap.get("intensity")),
                trigger=_label(lap.get("lap_trigger")),
            )
        )
    return sorted(laps, key=lambda lap: lap.start_offset_s)


def _sum(sessions: list[dict[str, Any]], key: str) -> float | None:
    values = [_num(s.get(key)) for s in sessions]
    present = [v for v in values if v is not None]
    return float(sum(present)) if present else None


def totals(activity: Activity, sessions: list[dict[str, Any]], first_distance_at_zero: bool) -> None:
    """Fill elapsed/timer/distance/HR from sessions, else from the streams."""
    s = activity.streams
    span = float(s.time_s[-1] - s.time_s[0]) if len(s) else 0.0
    activity.elapsed_s = _sum(sessions, "total_elapsed_time") or span
    activity.timer_s = _sum(sessions, "total_timer_time")
    activity.distance_m = _sum(sessions, "total_distance")
    if activity.distance_m is None and s.distance_m is not None:
        d = s.distance_m[np.isfinite(s.distance_m)]
        activity.distance_m = float(d[-1] - (0.0 if first_distance_at_zero else d[0]))
    if len(sessions) == 1:
        activity.avg_hr_bpm = _num(sessions[0].get("avg_heart_rate"))
        activity.max_hr_bpm = _num(sessions[0].get("max_heart_rate"))
    hr = s.hr_bpm[(s.hr_bpm >= HR_MIN_BPM) & (s.hr_bpm <= HR_MAX_BPM)] if s.hr_bpm is not None else None
    if hr is not None and hr.size and hr_or_none(activity.avg_hr_bpm) is None:
        activity.avg_hr_bpm = float(hr.mean())
    if hr is not None and hr.size and hr_or_none(activity.max_hr_bpm) is None:
        activity.max_hr_bpm = float(hr.max())


def _main_sport(msgs: FitMessages, sessions: list[dict[str, Any]]) -> tuple[str, str | None]:
    """Session sport(s) first; a file without them may still have a sport or lap message."""
    if len(sessions) > 1:
        return combined_sport([sport_of(s) or ("other", None) for s in sessions])
    own = sport_of(sessions[0]) if sessions else None
    return own or sport_of(msgs.first("sport")) or sport_of(msgs.first("lap")) or ("other", None)


def to_activities(msgs: FitMessages) -> list[Activity]:
    """The activity in a decoded FIT file (a list for symmetry with multi-activity formats)."""
    label = file_type_label(msgs)
    if label is not None:
        raise NotAnActivity(f"not an activity: {label} file")
    clock_note = _set_clock(msgs)
    sessions, starts = session_bounds(msgs.messages.get("session", []))
    rec = _with_beat_hr(merge_by_timestamp(msgs.records()), msgs)
    ts = rec.get("timestamp", np.zeros(0))
    if not sessions and ts.size == 0:
        if msgs.truncated:
            raise DecodeError(f"{msgs.damage}; no activity data before it")
        raise NotAnActivity("no activity data")
    start = starts[0] if starts else float(ts[0])
    if ts.size and ts[0] < start:
        start = float(ts[0])  # a record before the session start: keep time_s non-negative
    legs_sports = [sport_of(s) or ("other", None) for s in sessions]
    sport, sub_sport = _main_sport(msgs, sessions)
    if len(sessions) > 1 and ts.size:
        row_leg = np.clip(np.searchsorted(np.asarray(starts), ts, side="right") - 1, 0, len(sessions) - 1)
        factor: np.ndarray | float = np.array([cadence_factor(sp) for sp, _ in legs_sports])[row_leg]
    else:
        factor = cadence_factor(sport)
    streams = build_streams(rec, start, factor) if ts.size else Streams.empty()
    manufacturer, product = _device(msgs)
    offset = _utc_offset(msgs)
    activity = Activity(
        start_utc=datetime.fromtimestamp(start, timezone.utc),
        sport=sport,
        sub_sport=sub_sport,
        format="fit",
        elapsed_s=0.0,
        utc_offset_s=offset,
        tz_source="file" if offset is not None else None,
        manufacturer=manufacturer,
        product=product,
        streams=streams,
        laps=_laps(msgs, start, float("inf")),
    )
    totals(activity, sessions, first_distance_at_zero=True)
    if len(sessions) > 1:
        activity.legs = build_legs(activity, sessions, starts, legs_sports, lambda a, b: _laps(msgs, a, b))
        for leg, session in zip(activity.legs, sessions):
            totals(leg, [session], first_distance_at_zero=False)
    if start < _CLOCK_SET_UNIX:
        activity.time_known = False
        for leg in activity.legs:
            leg.time_known = False
        activity.notes.append(
            "device clock was not set and no message in the file gives the real time: the date is unknown,"
            " so the activity is left out of the analysis until you set it (heavylegs set-start)"
        )
    elif clock_note:
        activity.notes.append(clock_note)
    if msgs.truncated:
        n_records = max((v.size for v in msgs.records().values()), default=0)
        activity.notes.append(f"{msgs.damage}; salvaged {n_records} records")
    return [activity]
