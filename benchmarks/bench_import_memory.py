"""Peak memory of ``heavylegs import`` on a crafted archive (issue 13, finding 9).

The archive is the reviewer's: about 6 MB holding 8 members that inflate to
99 MiB each (129:1, under the 200:1 bomb limit). It is imported with 4 decode
workers, once with the default byte-bounded window and once with a window so
wide that only the old count bound (3 files per worker) applies, as before the
fix. Measured: peak RSS of the main process and of the whole process tree
(main + decode workers), sampled every 10 ms; the target is a tree under 500 MB.

    python benchmarks/bench_import_memory.py [--members 8] [--member-mib 99] [--workers 4] [--window-mib 0]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fat_zip import fat_zip  # noqa: E402

TARGET_MB = 500.0


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(peak main RSS MB, peak tree RSS MB, stdout) of ``cmd``."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        ps = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                main = ps.memory_info().rss
                tree = main + sum(c.memory_info().rss for c in ps.children(recursive=True))
                peak[0], peak[1] = max(peak[0], main / 1e6), max(peak[1], tree / 1e6)
            except psutil.Error:
                pass
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode not in (0, 2):
        raise SystemExit(f"import failed ({proc.returncode}): {err[-2000:]}")
    return peak[0], peak[1], out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--member-mib", type=int, default=99)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--window-mib", type=int, default=0, help="import.window_bytes for the first run; 0 = the default")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        archive = fat_zip(base / "crafted.zip", args.members, args.member_mib * 2**20)
        print(f"archive: {archive.stat().st_size / 1e6:.1f} MB, {args.members} x {args.member_mib} MiB members, {args.workers} workers")
        rows = []
        first = ("byte-bounded window (default)", None) if not args.window_mib else (f"byte-bounded window ({args.window_mib} MiB)", args.window_mib * 2**20)
        for label, window in (first, ("count-only window (before the fix)", 64 * 2**30)):
            data = base / f"data-{len(rows)}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")} | {"HEAVYLEGS_DATA_DIR": str(data)}
            if window is not None:
                config = base / f"config-{len(rows)}.toml"
                config.write_text(f"[import]\nwindow_bytes = {window}\n")
                env["HEAVYLEGS_CONFIG"] = str(config)
            cmd = [sys.executable, "-m", "heavylegs", "import", str(archive), "--json", "--workers", str(args.workers)]
            main_mb, tree_mb, out = run_measured(cmd, env)
            report = json.loads(out)
            rows.append((label, main_mb, tree_mb, len(report["failed"]) + len(report["skipped"]) + report["imported"]))
        print(f"| {'run':<36} | main RSS MB | tree RSS MB | files reported | tree / {TARGET_MB:.0f} MB |")
        print(f"|{'-' * 38}|-------------|-------------|----------------|--------------|")
        for label, main_mb, tree_mb, files in rows:
            print(f"| {label:<36} | {main_mb:>11.0f} | {tree_mb:>11.0f} | {files:>14} | {tree_mb / TARGET_MB:>12.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
