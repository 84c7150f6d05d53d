"""A real date for FIT files whose device clock was not set.

FIT ``date_time`` values below 0x10000000 are device system time (seconds
since power-on), not a date (FIT SDK, "Timestamps"). Such devices (a VIRB
camera, a Forerunner 70 recording before its first satellite fix) often
still say somewhere what the real time was:

1. ``timestamp_correlation`` (global 162): ``timestamp`` is UTC at the
   moment the system clock read ``system_timestamp`` (plus fractions in
   1/32768 s); real = system + (timestamp - system_timestamp);
2. ``gps_metadata`` (global 160): ``utc_timestamp`` is GPS time at the
   message's own (system) ``timestamp``;
3. ``file_id.time_created`` when it is a real date: the file was created
   when the recording started.

The shift found is added to every system-time value normalisation reads
(records, hr beats, session/lap/activity times), so the rest of the
pipeline sees an ordinary file. Values that already are real dates stay.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from ingest.fit.messages import FitMessages
from ingest.fit.multisport import fit_time
from ingest.fit.reference import FIT_EPOCH_UNIX

# Unix seconds below which a FIT time is device system time (FIT SDK: 0x10000000).
CLOCK_SET_UNIX = 0x10000000 + FIT_EPOCH_UNIX
FRACTION = 32768.0
# Messages whose time fields normalisation reads.
_TIMED = ("session", "lap", "activity", "event")
_FIELDS = ("timestamp", "start_time")


def _real(value: Any) -> float | None:
    t = fit_time(value)
    return t if t is not None and t >= CLOCK_SET_UNIX else None


def _system(value: Any) -> float | None:
    t = fit_time(value)
    return t if t is not None and t < CLOCK_SET_UNIX else None


def _frac(value: Any) -> float:
    return float(value) / FRACTION if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def needs_clock(msgs: FitMessages) -> bool:
    """Whether any record or session time is device system time."""
    ts = msgs.records().get("timestamp")
    if ts is not None and ts.size and bool((ts[np.isfinite(ts)] < CLOCK_SET_UNIX).any()):
        return True
    for session in msgs.messages.get("session", []):
        if _system(session.get("start_time")) is not None or _system(session.get("timestamp")) is not None:
            return True
    return False


def find_shift(msgs: FitMessages, first_system: float | None) -> tuple[float, str] | None:
    """(seconds to add to system time, where the real time came from), or None."""
    for corr in msgs.messages.get("timestamp_correlation", []):
        real, system = _real(corr.get("timestamp")), _system(corr.get("system_timestamp"))
        if real is not None and system is not None:
            real += _frac(corr.get("fractional_timestamp"))
            system += _frac(corr.get("fractional_system_timestamp"))
            return real - system, "timestamp_correlation"
    shifts = []
    for gps in msgs.messages.get("gps_metadata", []):
        real, system = _real(gps.get("utc_timestamp")), _system(gps.get("timestamp"))
        if real is not None and system is not None:
            shifts.append(real - system)
    if shifts:
        return float(np.median(shifts)), "gps_metadata"
    created = _real((msgs.first("file_id") or {}).get("time_created"))
    if created is not None and first_system is not None:
        return created - first_system, "file_id.time_created"
    return None


def _shifted(value: Any, shift: float) -> Any:
    system = _system(value)
    if system is None:
        return value
    return datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=system + shift)


def apply_shift(msgs: FitMessages, shift: float) -> None:
    """Move every system-time value normalisation reads by ``shift`` seconds (in place)."""
    rec = msgs.columns.get("record")
    if rec and "timestamp" in rec:
        ts = rec["timestamp"]
        rec["timestamp"] = np.where(ts < CLOCK_SET_UNIX, ts + shift, ts)
    hr = msgs.columns.get("hr")
    if hr and "event_timestamp" in hr:
        ts = hr["event_timestamp"]
        hr["event_timestamp"] = np.where(ts < CLOCK_SET_UNIX, ts + shift, ts)
    for name in _TIMED:
        for message in msgs.messages.get(name, []):
            for key in _FIELDS:
                if key in message:
                    message[key] = _shifted(message[key], shift)


def first_system_time(msgs: FitMessages) -> float | None:
    """The earliest system-time value among records and session starts."""
    times = []
    ts = msgs.records().get("timestamp")
    if ts is not None and ts.size:
        ok = ts[np.isfinite(ts) & (ts < CLOCK_SET_UNIX)]
        if ok.size:
            times.append(float(ok.min()))
    for session in msgs.messages.get("session", []):
        t = _system(session.get("start_time"))
        if t is not None:
            times.append(t)
    return min(times) if times else None


def drop_system_times(msgs: FitMessages) -> int:
    """When nothing maps system time to real time but some records have real times, the
    system-time records cannot be placed: drop them (and re-anchor system-time session
    starts on the first real record). Returns how many records were dropped."""
    rec = msgs.columns.get("record")
    ts = rec.get("timestamp") if rec else None
    if rec is None or ts is None:
        return 0
    real = np.isfinite(ts) & (ts >= CLOCK_SET_UNIX)
    if not real.any():
        return 0
    system = np.isfinite(ts) & ~real
    rec["timestamp"] = np.where(real, ts, np.nan)  # rows without a timestamp are dropped when merged
    first = datetime.fromtimestamp(float(ts[real].min()), timezone.utc)
    for name in _TIMED:
        for message in msgs.messages.get(name, []):
            for key in _FIELDS:
                if key in message and _system(message[key]) is not None:
                    message[key] = first
    return int(system.sum())
