"""FIT bytes for a simulated run: 1 Hz records built as one numpy block, plus laps, session, activity.

The record layout is the one of ``benchmarks/synth_fit.py`` (timestamp, position,
distance, altitude, speed, heart rate, cadence); writing the records as a packed
numpy structured array keeps a year of runs (~800,000 records) under a few seconds.
Laps carry ``intensity`` (active/rest/warmup/cooldown) and ``lap_trigger``, as a
watch does for a structured workout, so importers can read structure from the file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.synth_fit import FIT_EPOCH_UNIX, FitWriter

SEMI_PER_DEG = 2**31 / 180.0
M_PER_DEG = 111_195.0
# FIT enums (profile): lap intensity and lap trigger.
INTENSITY = {"active": 0, "rest": 1, "warmup": 2, "cooldown": 3}
TRIGGER_MANUAL, TRIGGER_DISTANCE, TRIGGER_SESSION_END = 0, 2, 7

_RECORD = np.dtype([("h", "u1"), ("ts", "<u4"), ("lat", "<i4"), ("lon", "<i4"), ("dist", "<u4"),
                    ("alt", "<u2"), ("spd", "<u2"), ("hr", "u1"), ("cad", "u1")])


@dataclass
class Track:
    """1 Hz samples of one run; ``laps`` are (start index, end index, intensity, trigger)."""

    start_unix: int
    distance_m: np.ndarray
    altitude_m: np.ndarray
    speed_mps: np.ndarray
    hr_bpm: np.ndarray
    cadence_rpm: np.ndarray
    north_m: np.ndarray  # position along a north-south line (out-and-backs come back)
    laps: list[tuple[int, int, str, int]]


def fit_bytes(track: Track, lat0: float = 46.05, lon0: float = 14.5) -> bytes:
    n = int(track.distance_m.shape[0])
    t0 = track.start_unix - FIT_EPOCH_UNIX
    w = FitWriter()
    w.define(0, 0, [(0, 0x00), (1, 0x84), (2, 0x84), (3, 0x8C), (4, 0x86)])  # file_id
    w.message(0, 4, 1, 3113, 424242, t0)
    w.define(1, 21, [(253, 0x86), (0, 0x00), (1, 0x00)])  # event: timer start / stop_all
    w.message(1, t0, 0, 0)
    w.define(2, 20, [(253, 0x86), (0, 0x85), (1, 0x85), (5, 0x86), (2, 0x84), (6, 0x84), (3, 0x02), (4, 0x02)])
    rec = np.zeros(n, dtype=_RECORD)
    rec["h"] = 2
    rec["ts"] = t0 + np.arange(n)
    rec["lat"] = np.round((lat0 + track.north_m / M_PER_DEG) * SEMI_PER_DEG).astype(np.int32)
    rec["lon"] = int(round(lon0 * SEMI_PER_DEG))
    rec["dist"] = np.round(track.distance_m * 100).astype(np.uint32)
    rec["alt"] = np.clip(np.round((track.altitude_m + 500.0) * 5.0), 0, 65534).astype(np.uint16)
    rec["spd"] = np.clip(np.round(track.speed_mps * 1000.0), 0, 65534).astype(np.uint16)
    rec["hr"] = np.clip(np.round(track.hr_bpm), 30, 250).astype(np.uint8)
    rec["cad"] = np.clip(np.round(track.cadence_rpm), 0, 254).astype(np.uint8)
    w.raw(rec.tobytes())
    end = t0 + n - 1
    w.message(1, end, 0, 4)
    # lap: timestamp, start_time, elapsed, timer, distance, event, event_type, intensity, lap_trigger
    lap_fields = [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (0, 0x00), (1, 0x00), (23, 0x00), (24, 0x00)]
    w.define(3, 19, lap_fields)
    d = track.distance_m
    for a, b, intensity, trigger in track.laps:
        b = min(b, n - 1)
        secs_ms = (b - a) * 1000
        w.message(3, t0 + b, t0 + a, secs_ms, secs_ms, int((d[b] - d[a]) * 100), 9, 1, INTENSITY[intensity], trigger)
    total_ms, total_cm = (n - 1) * 1000, int(d[-1] * 100)
    w.define(4, 18, [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (0, 0x00), (1, 0x00), (5, 0x00), (6, 0x00)])
    w.message(4, end, t0, total_ms, total_ms, total_cm, 8, 1, 1, 0)  # session: running, generic
    w.define(5, 34, [(253, 0x86), (0, 0x86), (1, 0x84), (2, 0x00), (3, 0x00), (4, 0x00)])
    w.message(5, end, total_ms, 1, 0, 26, 1)
    return w.finish()
