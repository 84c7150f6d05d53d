"""Write a scenario's FIT files, import them with ``heavylegs import`` and judge ``alerts check``.

The import goes through the real CLI (click's CliRunner on ``heavylegs.cli.main``:
decode, store, analysis). The check is the library call that ``heavylegs alerts
check`` wraps, with ``now`` set to the day after the history ends (the CLI uses the
wall clock); every rule is evaluated on stored data only, so the dates of the
findings are the days a daily check would have raised them.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.simyear import SCENARIOS, Truth
from tests.simyear_fit import fit_bytes
from tests.simyear_runs import RunSpec, simulate

SEVERITY_ORDER = {"info": 0, "caution": 1, "warning": 2, "urgent": 3}


@dataclass
class Outcome:
    scenario: str
    seed: int
    truth: Truth
    runs: list[RunSpec]
    alerts: list[dict[str, Any]]  # every stored alert but the history summary, oldest first
    months: float
    expected: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def per_rule(self) -> Counter[str]:
        return Counter(a["rule"] for a in self.alerts)

    @property
    def latency_days(self) -> int | None:
        if self.truth.onset is None or not self.expected:
            return None
        return (date.fromisoformat(self.expected[0]["date"]) - self.truth.onset).days

    @property
    def severity_reached(self) -> str | None:
        sev = [a["severity"] for a in self.expected]
        return max(sev, key=SEVERITY_ORDER.__getitem__) if sev else None

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "seed": self.seed, "runs": len(self.runs), "months": round(self.months, 1),
            "alerts": len(self.alerts),
            "per_month": {k: round(v / self.months, 2) for k, v in sorted(self.per_rule.items())},
            "latency_days": self.latency_days, "severity": self.severity_reached, "false_alarms": len(self.false_alarms),
            "false_by_rule": dict(Counter(a["rule"] for a in self.false_alarms)),
        }


def write_files(runs: list[RunSpec], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, spec in enumerate(runs):
        p = folder / f"{spec.day.isoformat()}_{i:04d}_{spec.kind}_{spec.route}.fit"
        p.write_bytes(fit_bytes(simulate(spec)))
        paths.append(p)
    return paths


def import_and_check(folder: Path, data_dir: Path, end: date) -> list[dict[str, Any]]:
    """``heavylegs import FOLDER`` via the CLI, then the check as of the day after ``end``."""
    from heavylegs.alerts.engine import check
    from heavylegs.alerts.query import list_alerts
    from heavylegs.cli import main
    from heavylegs.service.jobs import alerts_context
    from heavylegs.settings import load_settings
    from heavylegs.store.db import make_engine

    db = f"sqlite:///{data_dir / 'heavylegs.db'}"
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "--db", db, "import", str(folder), "--json", "--workers", "1"],
                                catch_exceptions=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(f"import printed no JSON (exit {result.exit_code}): {result.output[:2000]}") from None
    if result.exit_code != 0 or report.get("failed"):
        raise RuntimeError(f"import failed: {result.output[:2000]}")
    settings = load_settings(data_dir=data_dir, db=db, environ={})
    engine = make_engine(db)
    try:
        check(engine, alerts_context(settings), datetime.combine(end + timedelta(days=1), time(12, 0), tzinfo=timezone.utc))
        rows = list_alerts(engine, limit=100_000)
    finally:
        engine.dispose()
    return sorted((a for a in rows if a["rule"] != "history_summary"), key=lambda a: (a["date"] or "", a["rule"], a["id"]))


def judge(scenario: str, seed: int, runs: list[RunSpec], truth: Truth, alerts: list[dict[str, Any]]) -> Outcome:
    first = min(r.day for r in runs)
    end = truth.end or max(r.day for r in runs)
    out = Outcome(scenario, seed, truth, runs, alerts, ((end - first).days + 1) / 30.44)
    for a in alerts:
        d = date.fromisoformat(a["date"]) if a["date"] else None
        ok = (truth.onset is not None and d is not None and a["rule"] in truth.expect
              and 0 <= (d - truth.onset).days <= truth.window_days) or (a["rule"] in truth.related and d in truth.events)
        (out.expected if ok else out.false_alarms).append(a)
    return out


def run_scenario(scenario: str, seed: int, workdir: Path, **kw: Any) -> Outcome:
    runs, truth = SCENARIOS[scenario](seed, **kw)
    folder = workdir / f"{scenario}-{seed}"
    write_files(runs, folder / "files")
    alerts = import_and_check(folder / "files", folder / "data", truth.end or max(r.day for r in runs))
    return judge(scenario, seed, runs, truth, alerts)
