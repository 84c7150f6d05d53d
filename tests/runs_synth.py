"""Runs on known terrain with known pacing, sampled at 1 Hz (for the run-level alert tests).

The runner holds one effort and paces slopes by ``real_pacing`` (11 % slower
at +4 %, 5 % faster at -4 %), or by another curve a test passes; a late fade
of F % slows the last quarter's pace by F %. Heart rate is constant effort
plus ``drift_bpm_h`` per hour, so decoupling comes only from the drift.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ingest.model import Streams

Pacing = Callable[[np.ndarray], np.ndarray]


def real_pacing(grade: np.ndarray) -> np.ndarray:
    """Pace multiplier on a grade (fraction): 1 + 2 g + 18.75 g^2 (1.11 at +4 %, 0.95 at -4 %)."""
    return 1.0 + 2.0 * grade + 18.75 * grade**2


def minetti_pacing(grade: np.ndarray) -> np.ndarray:
    """A runner who slows uphill by the full metabolic cost (Minetti 2002) but is no faster downhill than flat."""
    g = np.asarray(grade, dtype=np.float64)
    cost = (155.4 * g**5 - 30.4 * g**4 - 43.3 * g**3 + 46.3 * g**2 + 19.5 * g + 3.6) / 3.6
    return np.where(g > 0, cost, 1.0)


def terrain_run(
    profile: list[tuple[float, float]],
    *,
    speed_mps: float = 2.8,
    fade_pct: float = 0.0,
    drift_bpm_h: float = 3.0,
    hr_bpm: float = 145.0,
    pacing: Pacing = real_pacing,
    speeds: list[float] | None = None,
    seed: int = 0,
) -> Streams:
    """1 Hz streams over ``profile`` = [(length m, grade)], in order.

    ``speeds`` (m/s per profile segment) overrides the flat speed segment by
    segment (for interval sessions). Small GPS-like speed noise (1 %) and
    barometric altitude noise (0.1 m) from ``seed``.
    """
    rng = np.random.default_rng(seed)
    lengths = np.array([p[0] for p in profile])
    grades = np.array([p[1] for p in profile])
    total = float(lengths.sum())
    x = np.arange(0.0, total + 1.0)
    seg = np.clip(np.searchsorted(np.cumsum(lengths), x, side="right"), 0, len(profile) - 1)
    g = grades[seg]
    alt = 300.0 + np.concatenate([[0.0], np.cumsum(g[1:])])
    flat_v = np.full(x.shape, speed_mps) if speeds is None else np.asarray(speeds, dtype=np.float64)[seg]
    late = x >= 0.75 * total
    v = flat_v / pacing(g) / np.where(late, 1.0 + fade_pct / 100.0, 1.0)
    t_at_x = np.concatenate([[0.0], np.cumsum(1.0 / v[1:])])
    ts = np.arange(0.0, float(int(t_at_x[-1])) + 1.0)
    d = np.interp(ts, t_at_x, x)
    speed = np.interp(d, x, v) * (1.0 + rng.normal(0.0, 0.01, ts.shape[0]))
    hr = hr_bpm + drift_bpm_h * ts / 3600.0 + rng.normal(0.0, 1.0, ts.shape[0])
    return Streams(
        time_s=ts, distance_m=d, speed_mps=speed, altitude_m=np.interp(d, x, alt) + rng.normal(0.0, 0.1, ts.shape[0]),
        hr_bpm=hr, cadence_spm=np.full(ts.shape, 168.0),
    )


def interval_session(offset_m: float = 0.0, rep_mps: float = 4.2, jog_mps: float = 2.4, easy_mps: float = 2.8, seed: int = 0) -> tuple[Streams, list[tuple[float, str]]]:
    """2 km warm-up, 6 x 800 m with 400 m jogs, 1.6 km cool-down; (streams, [(lap metres, intensity)])."""
    laps: list[tuple[float, str]] = [(2000.0 + offset_m, "warmup")]
    for i in range(6):
        laps.append((800.0, "active"))
        if i < 5:
            laps.append((400.0, "rest"))
    laps.append((1600.0 - offset_m, "cooldown"))
    speed = {"warmup": easy_mps, "cooldown": easy_mps, "active": rep_mps, "rest": jog_mps}
    s = terrain_run([(m, 0.0) for m, _ in laps], speeds=[speed[k] for _, k in laps], seed=seed, drift_bpm_h=0.0)
    return s, laps


FIT_EPOCH_UNIX = 631065600
INTENSITY = {"active": 0, "rest": 1, "warmup": 2, "cooldown": 3}


def fit_run(s: Streams, start_unix: int, laps: list[tuple[float, str]] | None = None) -> bytes:
    """A FIT activity file of 1 Hz ``s`` (distance, altitude, speed, HR); ``laps`` = [(metres, intensity)]
    become lap messages with that intensity and a manual trigger (one lap without intensity when None)."""
    from benchmarks.synth_fit import FitWriter  # the benchmarks' FIT encoder, shared with the simulations

    t0 = start_unix - FIT_EPOCH_UNIX
    n = s.time_s.shape[0]
    w = FitWriter()
    w.define(0, 0, [(0, 0x00), (1, 0x84), (2, 0x84), (3, 0x8C), (4, 0x86)])  # file_id
    w.message(0, 4, 1, 3113, 777, t0)
    w.define(1, 21, [(253, 0x86), (0, 0x00), (1, 0x00)])  # event: timer start / stop_all
    w.message(1, t0, 0, 0)
    w.define(2, 20, [(253, 0x86), (0, 0x85), (1, 0x85), (5, 0x86), (2, 0x84), (6, 0x84), (3, 0x02)])
    semi, lat0, lon0 = 2**31 / 180.0, 46.05, 14.5
    for i in range(n):
        d = float(s.distance_m[i])
        w.message(2, t0 + int(s.time_s[i]), int((lat0 + d / 111_195.0) * semi), int(lon0 * semi), int(d * 100),
                  int((float(s.altitude_m[i]) + 500) * 5), int(float(s.speed_mps[i]) * 1000), int(round(float(s.hr_bpm[i]))))
    end = t0 + int(s.time_s[-1])
    w.message(1, end, 0, 4)
    fields = [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (0, 0x00), (1, 0x00), (23, 0x00), (24, 0x00)]
    w.define(3, 19, fields)  # lap: ..., intensity, lap_trigger
    edges = np.cumsum([0.0] + [m for m, _ in (laps or [(float(s.distance_m[-1]), "")])])
    idx = np.searchsorted(s.distance_m, edges[1:-1]).tolist()
    starts, ends = [0] + idx, idx + [n - 1]
    for (a, b), (_, kind) in zip(zip(starts, ends), laps or [(0.0, "")]):
        secs_ms = int((s.time_s[b] - s.time_s[a]) * 1000)
        metres_cm = int((s.distance_m[b] - s.distance_m[a]) * 100)
        w.message(3, t0 + int(s.time_s[b]), t0 + int(s.time_s[a]), secs_ms, secs_ms, metres_cm, 9, 1, INTENSITY.get(kind, 0xFF), 0)
    total_ms, total_cm = int(s.time_s[-1] * 1000), int(s.distance_m[-1] * 100)
    w.define(4, 18, [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (0, 0x00), (1, 0x00), (5, 0x00), (6, 0x00)])
    w.message(4, end, t0, total_ms, total_ms, total_cm, 8, 1, 1, 0)  # session: running
    w.define(5, 34, [(253, 0x86), (0, 0x86), (1, 0x84), (2, 0x00), (3, 0x00), (4, 0x00)])
    w.message(5, end, total_ms, 1, 0, 26, 1)
    return w.finish()


def tcx_laps(laps: list[tuple[float, float, str, str]]) -> bytes:
    """A TCX run of laps (seconds, metres, Intensity, TriggerMethod), two trackpoints each."""
    from datetime import datetime, timedelta, timezone

    t = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
    body, dist = [], 0.0
    for secs, metres, intensity, trigger in laps:
        iso = lambda x: x.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        end = t + timedelta(seconds=secs)
        body.append(
            f'<Lap StartTime="{iso(t)}"><TotalTimeSeconds>{secs}</TotalTimeSeconds><DistanceMeters>{metres}</DistanceMeters>'
            f"<Intensity>{intensity}</Intensity><TriggerMethod>{trigger}</TriggerMethod><Track>"
            f"<Trackpoint><Time>{iso(t)}</Time><DistanceMeters>{dist}</DistanceMeters></Trackpoint>"
            f"<Trackpoint><Time>{iso(end)}</Time><DistanceMeters>{dist + metres}</DistanceMeters></Trackpoint></Track></Lap>"
        )
        t, dist = end, dist + metres
    return (
        '<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="Running"><Id>2024-05-01T06:00:00Z</Id>{"".join(body)}</Activity></Activities></TrainingCenterDatabase>'
    ).encode()
