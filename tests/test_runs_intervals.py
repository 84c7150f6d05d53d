"""Interval sessions with a warm-up and a cool-down are never judged as steady runs."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from analysis.intervals import has_rep_block, has_reps, lap_structure
from analysis.runs import run_metrics
from heavylegs.alerts.engine import check
from heavylegs.importer import import_paths
from heavylegs.metrics.read import run_rows
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.service.envs import analysis_env, import_env
from heavylegs.service.jobs import alerts_context
from heavylegs.settings import Settings
from ingest.fit import decode_fit
from ingest.tcx import decode_tcx
from tests.metrics_synth import athlete_id
from tests.runs_synth import fit_run, interval_session, terrain_run


def test_lap_structure_from_intensity_and_lap_speeds() -> None:
    reps = ["warmup"] + ["active", "rest"] * 5 + ["active", "cooldown"]
    assert lap_structure(reps) == "intervals"
    assert lap_structure(["active", "resting", "active", "resting", "active"]) == "intervals"  # TCX labels
    assert lap_structure(["warmup", "active", "cooldown"]) == "workout"  # a tempo run between easy parts
    assert lap_structure(["active"] * 12) is None  # auto-laps say nothing by themselves
    assert lap_structure([]) is None
    # No intensity, manual laps: 1 km fast / 400 m slow alternate (4.0 vs 2.5 m/s).
    dist = [1000.0, 400.0] * 4
    secs = [250.0, 160.0] * 4
    assert lap_structure([None] * 8, dist, secs) == "intervals"
    # Auto 1-km laps of a steady run: no fast and slow group.
    assert lap_structure([None] * 10, [1000.0] * 10, [350.0, 352.0, 349.0, 355.0, 351.0] * 2) is None


def test_rep_block_by_hand() -> None:
    # warm-up 10 splits at 2.8, reps 5 x (4 at 4.2, 2 at 2.4), cool-down 8 at 2.8.
    v = np.array([2.8] * 10 + ([4.2] * 4 + [2.4] * 2) * 5 + [2.8] * 8)
    assert has_rep_block(v)
    assert has_reps(v[10:-8]) and not has_rep_block(v[:12])  # one rep is not a block
    assert not has_rep_block(np.array([2.8] * 20 + [3.6] * 10))  # a fast finish is one block, not reps
    assert not has_rep_block(2.8 + 0.1 * np.sin(np.arange(60.0)))  # wobble


@pytest.mark.parametrize("offset_m", [0.0, 130.0, 270.0])
@pytest.mark.parametrize("speeds", [(4.2, 2.4, 2.8), (3.8, 2.9, 2.9)], ids=["hard", "gentle"])
def test_warmup_reps_cooldown_without_laps_is_not_steady(offset_m: float, speeds: tuple[float, float, float]) -> None:
    s, _ = interval_session(offset_m, *speeds)
    m = run_metrics(s.time_s, s.distance_m, speed_mps=s.speed_mps, altitude_m=s.altitude_m, hr_bpm=s.hr_bpm)
    assert m.qualifies and m.reps and m.structure == "reps" and not m.steady
    assert m.fade_pct is not None and m.fade_pct > 3.0  # the cool-down alone would read as a fade


def test_laps_decide_even_when_the_streams_look_steady() -> None:
    s = terrain_run([(12000.0, 0.0)])
    m = run_metrics(s.time_s, s.distance_m, speed_mps=s.speed_mps, altitude_m=s.altitude_m, laps_structure="workout")
    assert not m.steady and m.structure == "workout"
    assert run_metrics(s.time_s, s.distance_m, speed_mps=s.speed_mps, altitude_m=s.altitude_m).steady


def test_fit_and_tcx_laps_carry_intensity_and_trigger() -> None:
    s, laps = interval_session()
    (act,) = decode_fit(fit_run(s, 1_714_550_400, laps))
    assert [lap.intensity for lap in act.laps] == [k for _, k in laps]
    assert {lap.trigger for lap in act.laps} == {"manual"}
    assert lap_structure([lap.intensity for lap in act.laps]) == "intervals"
    (plain,) = decode_fit(fit_run(s, 1_714_550_400))
    assert [(lap.intensity, lap.trigger) for lap in plain.laps] == [(None, "manual")]
    from tests.runs_synth import tcx_laps

    (tcx,) = decode_tcx(tcx_laps([(600, 1800, "Active", "Manual"), (120, 300, "Resting", "Distance")]))
    assert [(lap.intensity, lap.trigger) for lap in tcx.laps] == [("active", "manual"), ("resting", "distance")]


def test_interval_sessions_raise_no_run_alerts_end_to_end(tmp_path: Path, engine: Engine, settings: Settings) -> None:
    """Import FIT files (some with workout laps, some without), recompute, check: nothing from the sessions."""
    files = tmp_path / "in"
    files.mkdir()
    start = datetime(2024, 5, 1, 7, tzinfo=timezone.utc)
    for i in range(4):
        s, laps = interval_session(offset_m=90.0 * i, seed=i)
        when = int((start + timedelta(days=2 * i)).timestamp())
        (files / f"iv{i}.fit").write_bytes(fit_run(s, when, laps if i % 2 == 0 else None))
    today = date(2024, 5, 8)
    import_paths(engine, import_env(settings), [files], athlete="me", workers=1)
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(settings), aid, today)
    with engine.connect() as conn:
        runs = run_rows(conn, aid, detail=True)
    assert len(runs) == 4 and not any(r["steady"] for r in runs)
    assert all(r["fade_pct"] > 3.0 for r in runs)  # what the cool-downs would have read as
    check(engine, alerts_context(settings), datetime(2024, 5, 8, 12, tzinfo=timezone.utc))
    from heavylegs.alerts.query import list_alerts

    assert [a for a in list_alerts(engine) if a["rule"] in ("late_fade", "decoupling", "recurring_fade")] == []
