"""One simulated run, metre by metre, with the pacing real runners show (for tests/simyear.py).

Pace on a grade g (in %) is the flat pace times m(g) = 1 + 0.02 g + 0.001875 g^2,
fitted to two observations of how recreational runners pace hills at a steady
effort: about 11 % slower at +4 % (m = 1.11) and about 5 % faster at -4 %
(m = 0.95); the curve bottoms out near -5 % and steep descents get slower again
(Strava's 2017 heart-rate based GAP curve has the same shape). Heart rate follows
effort (plus ~1.2 bpm per % uphill), drifts ``drift_bpm_h`` per hour and lags the
effort with a 25 s first-order response. A late fade of F % slows the pace of the
last quarter by F % (reached over the first 1 % of the distance).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

import numpy as np

from tests.simyear_fit import TRIGGER_DISTANCE, TRIGGER_MANUAL, Track

# Flat speeds (m/s) and heart rates (bpm) of the simulated runner.
SPEED = {"easy": 2.85, "long": 2.75, "warmup": 2.7, "active": 4.25, "rest": 2.3, "cooldown": 2.7}
HR = {"easy": 140.0, "long": 142.0, "warmup": 132.0, "active": 175.0, "rest": 145.0, "cooldown": 140.0}
HR_START = 95.0
HR_LAG_S = 25.0


@dataclass
class RunSpec:
    day: date
    kind: str  # easy | long | intervals
    distance_km: float
    route: str = "flat"  # flat | rolling | outback | final_climb | hill_middle
    fade_pct: float = 0.0
    pace_factor: float = 1.0  # day-to-day noise: > 1 is faster
    drift_bpm_h: float = 3.0
    hr_offset: float = 0.0
    workout_laps: bool = False
    seed: int = 0
    tags: set[str] = field(default_factory=set)  # ground truth labels for the judge

    @property
    def start_unix(self) -> int:
        return int(datetime.combine(self.day, time(7, 0), tzinfo=timezone.utc).timestamp())


def pace_multiplier(grade_pct: np.ndarray) -> np.ndarray:
    return 1.0 + 0.02 * grade_pct + 0.001875 * grade_pct**2


def _altitude(route: str, x: np.ndarray, total: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(altitude m, north position m) along the route."""
    north = x.copy()
    if route == "rolling":
        lam1, lam2 = rng.uniform(1200, 2000), rng.uniform(600, 900)
        alt = 300 + 14 * np.sin(2 * math.pi * x / lam1) + 5 * np.sin(2 * math.pi * x / lam2 + rng.uniform(0, 6))
    elif route == "outback":
        # Climb first (flat kilometre, then a steady grade to the turn), finish downhill.
        g = rng.uniform(0.03, 0.045)
        half = total / 2
        climb = np.clip(np.minimum(x, total - x) - 1000.0, 0.0, None)
        alt = 300 + g * np.minimum(climb, half - 1000.0)
        north = np.minimum(x, total - x)
    elif route == "final_climb":
        climb_m = min(1500.0, 0.15 * total)
        alt = 300 + rng.uniform(0.06, 0.08) * np.clip(x - (total - climb_m), 0.0, None)
    elif route == "hill_middle":
        g = rng.uniform(0.03, 0.05)
        mid, width = total / 2, min(1500.0, total / 5)
        alt = 300 + g * np.clip(width - np.abs(x - mid), 0.0, None)
    else:
        alt = 300 + 1.5 * np.sin(2 * math.pi * x / 1700.0)
    return alt, north


def _segments(spec: RunSpec) -> list[tuple[float, str]]:
    if spec.kind != "intervals":
        return [(spec.distance_km * 1000.0, spec.kind)]
    reps: list[tuple[float, str]] = []
    for i in range(6):
        reps.append((800.0, "active"))
        if i < 5:
            reps.append((400.0, "rest"))
    return [(2000.0, "warmup"), *reps, (1600.0, "cooldown")]


def simulate(spec: RunSpec) -> Track:
    rng = np.random.default_rng(spec.seed)
    segs = _segments(spec)
    total = sum(d for d, _ in segs)
    x = np.arange(0.0, total + 1.0, 1.0)
    bounds = np.cumsum([0.0] + [d for d, _ in segs])
    seg_of = np.clip(np.searchsorted(bounds, x, side="right") - 1, 0, len(segs) - 1)
    kinds = [k for _, k in segs]
    v_flat = np.array([SPEED[k] for k in kinds])[seg_of] * spec.pace_factor
    hr_flat = np.array([HR[k] for k in kinds])[seg_of] + spec.hr_offset
    alt, north = _altitude(spec.route, x, total, rng)
    grade = np.gradient(np.convolve(alt, np.ones(25) / 25, mode="same")) * 100.0
    grade[:13] = grade[13]
    grade[-13:] = grade[-14]
    wobble = 1.0 + 0.015 * np.sin(2 * math.pi * x / rng.uniform(1500, 3000) + rng.uniform(0, 6))
    late = np.clip((x - 0.75 * total) / (0.01 * total), 0.0, 1.0)
    pace_mult = pace_multiplier(grade) * (1.0 + spec.fade_pct / 100.0 * late) / wobble
    v = v_flat / pace_mult
    t_at_x = np.concatenate([[0.0], np.cumsum(1.0 / v[1:])])
    n = int(t_at_x[-1]) + 1
    ts = np.arange(n, dtype=np.float64)
    xs = np.interp(ts, t_at_x, x)
    speed = np.interp(xs, x, v) * (1.0 + rng.normal(0, 0.01, n))
    g_s = np.interp(xs, x, grade)
    effort = np.interp(xs, x, hr_flat) + np.where(g_s > 0, 1.2 * g_s, 0.4 * g_s) + spec.drift_bpm_h * ts / 3600.0
    # First-order lag from a resting start: y' = (effort - y) / tau, solved by convolution.
    k = np.exp(-np.arange(int(5 * HR_LAG_S)) / HR_LAG_S)
    k /= k.sum()
    padded = np.concatenate([np.full(k.size - 1, HR_START), effort])
    hr = np.convolve(padded, k, mode="valid") + rng.normal(0, 1.0, n)
    cadence = 80.0 + 4.0 * (speed - 2.8) + rng.normal(0, 0.7, n)
    altitude = np.interp(xs, x, alt) + rng.normal(0, 0.1, n)
    return Track(spec.start_unix, xs, altitude, speed, hr, cadence, np.interp(xs, x, north), _laps(spec, segs, xs))


def _laps(spec: RunSpec, segs: list[tuple[float, str]], xs: np.ndarray) -> list[tuple[int, int, str, int]]:
    n = xs.shape[0]
    if spec.kind == "intervals" and spec.workout_laps:
        edges = np.cumsum([0.0] + [d for d, _ in segs])
        idx = np.searchsorted(xs, edges[1:-1]).tolist()
        starts, ends = [0] + idx, idx + [n - 1]
        return [(a, b, kind, TRIGGER_MANUAL) for (a, b), (_, kind) in zip(zip(starts, ends), segs)]
    kms = np.searchsorted(xs, np.arange(1000.0, xs[-1], 1000.0)).tolist()
    starts, ends = [0] + kms, kms + [n - 1]
    return [(a, b, "active", TRIGGER_DISTANCE) for a, b in zip(starts, ends) if b > a]
