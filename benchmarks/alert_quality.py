"""Alert quality on simulated histories with known truth (issue 10's table).

Per scenario and seed: alerts per rule per month, detection latency in days (first
expected alert minus onset), the highest severity the expected alerts reached, and
false alarms (every alert that is not the expected rule inside the expected window;
the first-import history summary is not counted). The histories are written as FIT
files, imported with ``heavylegs import`` and judged with the check behind
``heavylegs alerts check`` (see tests/simyear.py and tests/simyear_judge.py).

    .venv/bin/python benchmarks/alert_quality.py                 # every scenario, seeds 1-3
    .venv/bin/python benchmarks/alert_quality.py --seeds 1 2 --scenarios healthy ramp --verbose
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.simyear import SCENARIOS  # noqa: E402
from tests.simyear_judge import Outcome, run_scenario  # noqa: E402


def _fmt_rules(per_month: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in per_month.items()) or "-"


def table(outcomes: list[Outcome]) -> str:
    head = f"| {'scenario':<18} | seed | months | alerts | alerts per rule per month | latency d | severity | false alarms |"
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for o in outcomes:
        r = o.row()
        false = f"{r['false_alarms']}" + (f" ({_fmt_rules({k: float(v) for k, v in r['false_by_rule'].items()})})"
                                           if r["false_alarms"] else "")
        lat = "-" if r["latency_days"] is None else str(r["latency_days"])
        lines.append(f"| {r['scenario']:<18} | {r['seed']:>4} | {r['months']:>6} | {r['alerts']:>6} | "
                     f"{_fmt_rules(r['per_month']):<25} | {lat:>9} | {r['severity'] or '-':<8} | {false:<12} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--verbose", action="store_true", help="print every alert")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = ap.parse_args()
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios:
            for seed in args.seeds:
                o = run_scenario(name, seed, Path(tmp))
                outcomes.append(o)
                if args.verbose:
                    print(f"# {name} seed {seed}")
                    for a in o.alerts:
                        tag = "ok   " if a in o.expected else "FALSE"
                        print(f"  {tag} {a['date']} {a['rule']:<15} {a['severity']:<8} {a['message'][:140]}")
    if args.json:
        print(json.dumps([o.row() for o in outcomes], indent=2))
    else:
        print(table(outcomes))
        print(f"\n{len(outcomes)} histories in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
