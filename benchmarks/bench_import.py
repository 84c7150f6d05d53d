"""End-to-end import of a synthetic ten-year history, as a user would run it.

3,000 running FIT files are built from the corpus's real runs as time-shifted
copies (one every ~1.2 days for ten years), so dedup keeps them all. Measured:
wall time of ``heavylegs import`` (decode, dedup, storage, analysis recompute)
on a fresh SQLite store, peak RSS of the whole process tree, a re-import of the
same history (all duplicates), and disk use per run.

    python benchmarks/bench_import.py [--files 3000] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from shift_fit import shift_fit  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
RUNS = [
    "python-fitparse/tests/files/activity-small-fenix2-run.fit",
    "python-fitparse/tests/files/2013-02-06-12-11-14.fit",
    "python-fitparse/tests/files/developer-types-sample.fit",
    "GoldenCheetah/test/rides/Garmin920_withFirstbeat.fit",
    "GoldenCheetah/test/roundtrip/3386684871.fit",
    "GoldenCheetah/test/roundtrip/Fr955v19.28andStryd.fit",
    "GoldenCheetah/test/rides/HRV-Data.fit",
    "GoldenCheetah/test/runs/Move_2020_01_15_19_27_16_Running.fit",
]
FALLBACK = ["tests/fixtures/python-fitparse/activity-small-fenix2-run.fit", "tests/fixtures/python-fitparse/2013-02-06-12-11-14.fit"]


def sources() -> list[bytes]:
    paths = [CORPUS / p for p in RUNS if (CORPUS / p).exists()] or [ROOT / p for p in FALLBACK]
    return [p.read_bytes() for p in paths]


def build_history(out: Path, n: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    base = sources()
    total = 0
    for i in range(n):
        data = shift_fit(base[i % len(base)], int((i + 1) * 3650 / n * 86400) + 3600 * (i % 5))
        (out / f"run{i:05d}.fit").write_bytes(data)
        total += len(data)
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) summed over the process tree, stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = [0.0]

    def sample() -> None:
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
                peak[0] = max(peak[0], rss / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    t.join()
    return time.perf_counter() - start, peak[0], out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = HERE / "out" / "history"
    shutil.rmtree(work.parent, ignore_errors=True)
    nbytes = build_history(work / "files", args.files)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")} | {"HEAVYLEGS_DATA_DIR": str(work / "data")}
    files = sorted((work / "files").glob("*.fit"))
    t0 = time.perf_counter()
    for f in files:
        f.read_bytes()
    read_s = time.perf_counter() - t0
    # fitparse, the reference, on a sample: the whole history would take most of an hour.
    sample = files[: max(1, min(len(files), 3 * len(sources())))]
    probe = "import sys, fitparse\nfor p in sys.argv[1:]:\n    list(fitparse.FitFile(p).get_messages('record'))\n"
    fp_s, fp_rss, _ = run_measured([sys.executable, "-c", probe, *map(str, sample)], dict(os.environ))
    fp_bytes = sum(f.stat().st_size for f in sample)
    cmd = [sys.executable, "-m", "heavylegs", "import", str(work / "files"), "--json"]
    wall, rss, out = run_measured(cmd, env)
    report = json.loads(out)
    wall2, rss2, out2 = run_measured(cmd, env)
    db = work / "data" / "heavylegs.db"
    size = sum(p.stat().st_size for p in db.parent.glob("heavylegs.db*"))
    fp_full = fp_s * nbytes / fp_bytes  # fitparse's time for the whole history, by bytes
    rows = [
        ("file read (page cache)", read_s, 0.0, float("nan"), "the physical ceiling"),
        ("fitparse decode only", fp_full, fp_rss, float("nan"), f"measured on {len(sample)} files, scaled by bytes"),
        ("heavylegs import (fresh)", wall, rss, 60.0, f"{report['imported']} new, {len(report['failed'])} failed; decode+dedup+store+analysis"),
        ("re-import (all duplicates)", wall2, rss2, 10.0, f"{json.loads(out2)['duplicates']} duplicates"),
    ]
    print(f"history: {args.files} FIT files, {nbytes / 2**20:.0f} MB, on {os.cpu_count()} cores")
    print(f"{'step':<28}{'wall s':>9}{'target s':>10}{'x fitparse':>11}{'files/s':>10}{'MB/s':>8}{'peak RSS MB':>13}  note")
    for name, secs, peak, target, note in rows:
        print(
            f"{name:<28}{secs:>9.1f}{'-' if target != target else f'{target:.0f}':>10}{fp_full / secs:>11.1f}{args.files / secs:>10.0f}"
            f"{nbytes / 2**20 / secs:>8.1f}{peak:>13.0f}  {note}"
        )
    print(f"store on disk: {size / 2**20:.0f} MB = {size / 1024 / max(report['imported'], 1):.0f} KB per run (raw file + streams + rows)")
    if not args.keep:
        shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
