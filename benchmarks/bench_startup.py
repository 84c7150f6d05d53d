"""A runner's daily sync: small imports as whole processes, and the start-up tax.

Measured as whole processes, the way a user (or a cron job) runs them:

* ``heavylegs --help``: Python start plus the imports the command line needs
  (median of repeated runs, like hyperfine);
* fitparse decoding twelve synthetic 3-hour 1 Hz runs (130,000 records), the
  reference, as one process (``import fitparse`` included);
* ``heavylegs import`` of the same twelve files into a fresh SQLite store
  (decode, dedup, store and analysis), with the default pool choice and with
  1 and 2 decoder processes forced;
* the break-even of the process pool: the same import with the pool forced
  off and on, for batches of 1 to 24 files (``--files 24``).

    python benchmarks/bench_startup.py [--repeat 7] [--files 12] [--no-sweep]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FITPARSE = "import sys, fitparse\nfor p in sys.argv[1:]:\n    list(fitparse.FitFile(p).get_messages('record'))\n"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def median_of(n: int, cmd: list[str], env: dict[str, str], fresh: Path | None = None) -> float:
    """Median wall seconds of ``n`` runs (a fresh store each time when ``fresh`` is given)."""
    times = []
    for _ in range(n):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        times.append(timed(cmd, env))
    return statistics.median(times)


def write_runs(folder: Path, n: int) -> list[Path]:
    from benchmarks.synth_fit import synthetic_run  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"run{i:02d}.fit"
        path.write_bytes(synthetic_run(hours=3, start_unix=1_700_000_000 + i * 86_400))
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args()
    exe = [sys.executable, "-m", "heavylegs"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")} | {"HEAVYLEGS_DATA_DIR": str(data)}
        runs = write_runs(work / "runs", args.files)
        rows: list[tuple[str, float, str]] = []
        py = median_of(args.repeat, [sys.executable, "-c", "pass"], env)
        rows.append(("python -c pass", py, "the interpreter alone"))
        helps = median_of(args.repeat, [*exe, "--help"], env)
        rows.append(("heavylegs --help", helps, "target < 0.200 s"))
        rows.append(("heavylegs --version", median_of(args.repeat, [*exe, "--version"], env), ""))
        fp = median_of(max(1, args.repeat // 3), [sys.executable, "-c", FITPARSE, *map(str, runs)], env)
        rows.append((f"fitparse, {len(runs)} runs (reference)", fp, "decode only, whole process"))
        imp = [*exe, "import", str(work / "runs"), "--json"]
        auto = median_of(args.repeat, imp, env, fresh=data)
        rows.append((f"heavylegs import, {len(runs)} runs", auto, "default pool choice; decode+store+analysis"))
        rows.append(("  ... --workers 1", median_of(args.repeat, [*imp, "--workers", "1"], env, fresh=data), "never a pool"))
        pooled = [*forced(0), *imp[3:], "--workers", "2"]
        rows.append(("  ... pool of 2 forced", median_of(args.repeat, pooled, env, fresh=data), "the first step's choice for this batch"))
        shutil.rmtree(data, ignore_errors=True)
        timed(imp, env)
        rows.append((f"re-import, {len(runs)} runs", median_of(args.repeat, imp, env), "all duplicates"))
        print(f"{len(runs)} synthetic 3-hour 1 Hz runs, {sum(p.stat().st_size for p in runs) / 2**20:.1f} MB; "
              f"median of {args.repeat} whole-process runs, {os.cpu_count()} cores")
        print(f"{'command':<34}{'wall s':>9}{'x fitparse':>12}  note")
        for name, secs, note in rows:
            print(f"{name:<34}{secs:>9.3f}{fp / secs:>12.1f}  {note}")
        if args.no_sweep:
            return
        print("\npool break-even: median wall s of a whole `heavylegs import`, pool forced off / on")
        print(f"{'files':>6}{'in process':>12}{'pool of 2':>11}{'default':>10}")
        for k in (1, 2, 4, 8, 12, 16, 24):
            if k > len(runs):
                break
            sub = work / f"sub{k}"
            sub.mkdir()
            for p in runs[:k]:
                (sub / p.name).symlink_to(p)
            cmd = ["import", str(sub), "--json", "--workers", "2"]
            cells = [median_of(max(3, args.repeat // 2), [*forced(limit), *cmd], env, fresh=data) for limit in (10**9, 0)]
            cells.append(median_of(max(3, args.repeat // 2), [*exe, *cmd[:3]], env, fresh=data))
            print(f"{k:>6}{cells[0]:>12.3f}{cells[1]:>11.3f}{cells[2]:>10.3f}")


def forced(pool_min_files: int) -> list[str]:
    """``heavylegs`` with the pool's batch-size threshold overridden (for the break-even table)."""
    code = f"import heavylegs.importer as i; i.POOL_MIN_FILES = {pool_min_files}; from heavylegs.cli import main; main()"
    return [sys.executable, "-c", code]


if __name__ == "__main__":
    main()
