"""Run every benchmark in this folder and print their tables (``./dev bench``).

Benchmarks are not tests: each prints ratios against references measured in
the same run on this machine. Pass names to run a subset, e.g.
``python benchmarks/run_all.py fit import``.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["fit", "xml", "analysis", "recompute", "startup", "import"]


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    status = 0
    for name in wanted:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            print(f"== {name}: no {script.name}, skipped")
            continue
        print(f"== {script.name}", flush=True)
        status |= subprocess.call([sys.executable, str(script)])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
