"""Recompute cost on a synthetic ten-year history.

    .venv/bin/python benchmarks/bench_recompute.py [--years 10] [--step-s 1] [--db URL]

Stores ``years`` of activities (runs on 5 days a week, a ride every 10 days,
1 Hz streams by default), then times:
- full: the first recompute (every activity analysed from its streams);
- day: a recompute with no new activity (a new local day: daily series only);
- incremental: a recompute after one new run.
Targets: day-only rebuild well under 1 s, incremental under 100 ms on SQLite.
Each time is also given as a ratio to the reference, analysing one stored
run from its streams in the same process, so runs on different machines compare.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heavylegs.metrics.activity import analyse_activity  # noqa: E402
from heavylegs.metrics.anchors import Anchors  # noqa: E402
from heavylegs.metrics.config import analysis_config  # noqa: E402
from heavylegs.metrics.recompute import recompute_athlete  # noqa: E402
from heavylegs.metrics.store import load_entries, stream_batches  # noqa: E402
from heavylegs.service.envs import analysis_env  # noqa: E402
from heavylegs.settings import load_settings  # noqa: E402
from heavylegs.store.activities import SourceRef, get_or_create_athlete, store_activity  # noqa: E402
from heavylegs.store.db import make_engine, migrate  # noqa: E402
from ingest.model import Activity, Streams  # noqa: E402


def synthetic(day: date, rng: np.random.Generator, sport: str, minutes: float, step_s: float) -> Activity:
    n = int(minutes * 60 / step_s) + 1
    t = np.arange(n) * step_s
    base = 8.0 if sport == "cycling" else rng.uniform(2.6, 3.6)
    v = np.clip(base + rng.normal(0, 0.15, n), 0.0, None)
    v[t > 0.75 * t[-1]] *= rng.uniform(0.9, 1.02)
    d = np.cumsum(v * np.diff(t, prepend=0.0))
    hr = np.round(np.clip(135 + 25 * (v - 2.6) + np.linspace(0, rng.uniform(0, 12), n) + rng.normal(0, 2, n), 60, 200))
    s = Streams(time_s=t, distance_m=d, speed_mps=v, altitude_m=100 + 20 * np.sin(d / 700.0), hr_bpm=hr, cadence_spm=np.full(n, 172.0))
    start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=7)
    return Activity(start_utc=start, sport=sport, format="fit", elapsed_s=float(t[-1]), moving_s=float(t[-1]), distance_m=float(d[-1]), utc_offset_s=0, streams=s)


def populate(engine, years: int, step_s: float, first: date) -> int:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    n = 0
    with engine.begin() as conn:
        aid = get_or_create_athlete(conn, "bench")
        for i in range(years * 365):
            day = first + timedelta(days=i)
            acts = []
            if day.weekday() < 5:
                acts.append(synthetic(day, rng, "running", rng.uniform(30, 90), step_s))
            if i % 10 == 0:
                acts.append(synthetic(day, rng, "cycling", 60, step_s))
            for k, act in enumerate(acts):
                act.start_utc += timedelta(hours=6 * k)
                sha = hashlib.sha256(f"{i}-{k}".encode()).hexdigest()
                store_activity(conn, aid, act, SourceRef("file", f"{i}-{k}.fit", sha, "fit"))
                n += 1
    return n


def timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, out, time.process_time() - c0


def median_of(runs: list[tuple]) -> tuple:  # type: ignore[type-arg]
    # Median by wall time: the machine is shared, one unlucky run says little.
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--step-s", type=float, default=1.0)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hl-bench-"))
    settings = load_settings(data_dir=tmp, db=args.db, environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    first = date(2015, 1, 1)
    with engine.begin() as conn:
        entries = load_entries(conn, get_or_create_athlete(conn, "bench"))
    if not entries:  # a --db from an earlier run is reused as it is
        t_store, n, _ = timed(lambda: populate(engine, args.years, args.step_s, first))
        print(f"stored {n} activities in {t_store:.1f} s ({engine.dialect.name})")
    with engine.begin() as conn:
        aid = get_or_create_athlete(conn, "bench")
        entries = load_entries(conn, aid)
        today = max(e.info.local_date for e in entries)
    analysis = analysis_env(settings)
    cfg = analysis_config(analysis, "bench")
    anchors = Anchors(60.0, "default", 190.0, "config")
    (batch,) = list(stream_batches(engine, entries[-1:]))
    ref = timed(lambda: [analyse_activity(e.info, s, cfg, anchors) for e, s in batch])[0]
    results = {"full": timed(lambda: recompute_athlete(engine, analysis, aid, today))}
    day_runs, inc_runs = [], []
    for k in range(1, 6):
        day_runs.append(timed(lambda k=k: recompute_athlete(engine, analysis, aid, today + timedelta(days=2 * k - 1))))
        with engine.begin() as conn:
            sha = hashlib.sha256(f"new-{time.time()}-{k}".encode()).hexdigest()
            act = synthetic(today + timedelta(days=2 * k), np.random.default_rng(k), "running", 45, args.step_s)
            store_activity(conn, aid, act, SourceRef("file", f"new-{k}.fit", sha, "fit"))
        inc_runs.append(timed(lambda k=k: recompute_athlete(engine, analysis, aid, today + timedelta(days=2 * k))))
    results["day"] = median_of(day_runs)
    results["incremental"] = median_of(inc_runs)
    print(f"reference (analyse one run from its streams): {ref * 1000:.1f} ms")
    for name, (secs, summary, cpu) in results.items():
        print(
            f"{name:12s} wall {secs * 1000:8.1f} ms  cpu {cpu * 1000:8.1f} ms  = {secs / ref:7.1f} x reference"
            f"  (recomputed {summary.recomputed}, days {summary.days}, full={summary.full})"
        )
    print("targets: day < 1000 ms, incremental < 100 ms (SQLite); day/incremental are medians of 5")
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)  # ~300 MB of SQLite store


if __name__ == "__main__":
    main()
