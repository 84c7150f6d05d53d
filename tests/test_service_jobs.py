"""Job bookkeeping: job_runs rows, one log line per run, housekeeping's pruning."""
from __future__ import annotations

import logging
import time
from datetime import date

import pytest
from sqlalchemy import Engine, insert, select

from heavylegs.alerts.tables import alert_attempts, alert_deliveries, alerts
from heavylegs.service import jobs
from heavylegs.settings import Settings
from heavylegs.sources.store import add_source
from heavylegs.store.tables import job_runs


def test_runs_are_recorded_with_outcome_and_one_log_line(engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    runner = jobs.JobRunner(engine, settings)
    seen: list[tuple[str, bool]] = []
    runner.observe = lambda job, _s, ok: seen.append((job, ok))
    with caplog.at_level(logging.INFO, logger="heavylegs.service"):
        runner.run("scan:watch", "scan folder=watch", lambda: jobs.JobOutcome(counts={"new": 3, "dup": 1, "failed": 0}))

        def broken() -> jobs.JobOutcome:
            raise RuntimeError("disk on fire")

        runner.run("scan:watch", "scan folder=watch", broken)
    lines = [r.getMessage() for r in caplog.records if r.name == "heavylegs.service"]
    assert len(lines) == 2
    assert lines[0].startswith("scan folder=watch new=3 dup=1 failed=0 in ")
    assert "disk on fire" in lines[1]
    with engine.connect() as conn:
        row = conn.execute(select(job_runs).where(job_runs.c.job == "scan:watch")).first()
    assert (row.runs, row.failures, row.last_outcome) == (2, 1, "error")
    assert "RuntimeError: disk on fire" in row.last_error and row.last_end_ts >= row.last_start_ts
    assert seen == [("scan:watch", True), ("scan:watch", False)]
    assert runner.stats["scan:watch"].failures == 1


def test_housekeeping_prunes_old_attempts_of_finished_deliveries_and_stale_job_rows(engine: Engine, settings: Settings) -> None:
    now = time.time()
    old, recent = now - 200 * 86400, now - 86400
    add_source(engine, "kept", "folder", "me", {"path": "/nonexistent"})
    with engine.begin() as conn:
        conn.execute(insert(job_runs), [{"job": "scan:kept", "runs": 1, "failures": 0}, {"job": "scan:gone", "runs": 1, "failures": 0}, {"job": "deliver", "runs": 1, "failures": 0}])
        conn.execute(insert(alerts).values(id="a1", athlete="me", rule="no_rest", severity="caution", episode_key="k", date=date(2024, 1, 1),
                                           metrics_json="{}", message="m", advice_json="[]", state="queued", created_ts=old))
        done = conn.execute(insert(alert_deliveries).values(alert_id="a1", channel="mail", status="delivered", attempts=2, next_attempt_ts=old, created_ts=old)).inserted_primary_key[0]
        conn.execute(insert(alerts).values(id="a2", athlete="me", rule="no_rest", severity="caution", episode_key="k2", date=date(2024, 1, 2),
                                           metrics_json="{}", message="m", advice_json="[]", state="queued", created_ts=old))
        open_ = conn.execute(insert(alert_deliveries).values(alert_id="a2", channel="mail", status="retrying", attempts=1, next_attempt_ts=now, created_ts=old)).inserted_primary_key[0]
        conn.execute(insert(alert_attempts), [
            {"delivery_id": done, "channel": "mail", "ts": old, "duration_s": 0.1, "status": "error"},
            {"delivery_id": done, "channel": "mail", "ts": recent, "duration_s": 0.1, "status": "delivered"},
            {"delivery_id": open_, "channel": "mail", "ts": old, "duration_s": 0.1, "status": "error"},
        ])
    outcome = jobs.housekeeping(engine, settings)
    assert outcome.error is None
    assert outcome.counts["attempts"] == 1 and outcome.counts["stale_jobs"] == 1
    with engine.connect() as conn:
        left = sorted((r.delivery_id, r.status) for r in conn.execute(select(alert_attempts)))
        names = sorted(r[0] for r in conn.execute(select(job_runs.c.job)))
    # The open delivery keeps its whole history; the finished one keeps its recent attempt.
    assert left == sorted([(done, "delivered"), (open_, "error")])
    assert names == ["deliver", "scan:kept"]
