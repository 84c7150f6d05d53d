"""Timing of the analysis engine on realistic sizes (not part of the test suite).

    .venv/bin/python benchmarks/bench_analysis.py [--repeat N]

Prints the best-of-N wall time of each case and its ratio to the target;
a ratio below 1 meets the target. A reference numpy operation on an array of
the same size is timed in the same run so results from different machines can
be compared.
"""
from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.daily import daily_series  # noqa: E402
from analysis.runs import run_metrics  # noqa: E402
from analysis.trimp import banister_trimp  # noqa: E402


def synthetic_run(hours: float = 3.0, seed: int = 1) -> dict[str, np.ndarray]:
    """1 Hz run with rolling hills, GPS-like noise, HR drift, cadence and two stops."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600) + 1
    t = np.arange(n, dtype=np.float64)
    speed = 3.0 + 0.3 * np.sin(t / 400.0) + rng.normal(0, 0.15, n)
    speed[3000:3120] = 0.0  # traffic light
    speed[7000:7060] = 0.1
    d = np.cumsum(np.clip(speed, 0, None))
    alt = 200 + 30 * np.sin(d / 1500.0) + rng.normal(0, 0.5, n)
    hr = 135 + 15 * t / t[-1] + rng.normal(0, 2, n)
    hr[rng.random(n) < 0.01] = np.nan
    cad = 172 + rng.normal(0, 2, n)
    return {"time_s": t, "distance_m": d, "speed_mps": speed, "altitude_m": alt, "hr_bpm": hr, "cadence_spm": cad}


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    repeat = ap.parse_args().repeat
    r = synthetic_run()
    rng = np.random.default_rng(2)
    load = rng.uniform(0, 150, 3650)
    load[rng.random(3650) < 0.3] = 0.0
    cases: list[tuple[str, Callable[[], object], float]] = [
        ("run_metrics, 3 h at 1 Hz", lambda: run_metrics(r["time_s"], r["distance_m"], speed_mps=r["speed_mps"],
                                                         altitude_m=r["altitude_m"], hr_bpm=r["hr_bpm"],
                                                         cadence_spm=r["cadence_spm"]), 50.0),
        ("banister_trimp, 3 h at 1 Hz", lambda: banister_trimp(r["time_s"], r["hr_bpm"], hr_rest_bpm=60,
                                                               hr_max_bpm=190, sex="male"), 50.0),
        ("daily_series, 10 years", lambda: daily_series(load, load > 0), 50.0),
        ("reference: np.sort of 10,801 floats", lambda: np.sort(r["hr_bpm"]), float("nan")),
    ]
    print(f"{'case':<38} {'best ms':>9} {'target ms':>10} {'ratio':>7}")
    for name, fn, target in cases:
        fn()  # warm caches and imports
        ms = best_ms(fn, repeat)
        if target == target:
            print(f"{name:<38} {ms:>9.2f} {target:>10.0f} {ms / target:>7.3f}")
        else:
            print(f"{name:<38} {ms:>9.2f} {'-':>10} {'-':>7}")


if __name__ == "__main__":
    main()
