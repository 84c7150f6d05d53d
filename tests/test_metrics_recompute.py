"""Recompute on hand-built histories in real databases, checked against hand-computed numbers."""
from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from heavylegs.metrics.read import DAILY_KEYS, RUN_KEYS, daily_rows, run_rows, state_info
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.metrics.tables import activity_metrics
from heavylegs.service.envs import analysis_env
from heavylegs.settings import Settings
from tests.metrics_synth import activity, athlete_id, banister_per_minute, run, store, streams_for

D0 = date(2024, 3, 1)


def _day(i: int) -> date:
    return D0 + timedelta(days=i)


def _fallback_per_minute(v: float) -> float:
    """TRIMP/min of the documented fallback load model: a power law through
    (10 km/h, 65% HRR) and (14 km/h, 88% HRR) under Banister's male weighting."""
    f = lambda x: x * 0.64 * math.exp(1.92 * x)  # noqa: E731
    v1, v2 = 10 / 3.6, 14 / 3.6
    k = math.log(f(0.88) / f(0.65)) / math.log(v2 / v1)
    return f(0.65) / v1**k * v**k


@pytest.fixture
def anchored(settings: Settings) -> Settings:
    return settings.with_overrides({"athlete.hr_rest_bpm": 60, "athlete.hr_max_bpm": 190})


def _history(engine: Engine) -> dict[int, float]:
    """Store the history; returns the expected load per day index."""
    ride = activity(_day(2), streams_for([(8.0, 3600)], hr=120.0, cadence=None), sport="cycling")
    store(
        engine,
        [
            run(_day(0), 40, hr=150),
            ride,
            run(_day(5), 40, hr=None),
            run(_day(22), 30, hr=140),
            run(_day(25), 50, hr=155),
            run(_day(27), 40, hr=150),
        ],
    )
    return {
        0: 40 * banister_per_minute(150),
        2: 60 * banister_per_minute(120),
        5: 40 * _fallback_per_minute(3.0),  # fewer than 5 HR runs: the fallback model
        22: 30 * banister_per_minute(140),
        25: 50 * banister_per_minute(155),
        27: 40 * banister_per_minute(150),
    }


def test_daily_rows_match_hand_computation(engine: Engine, anchored: Settings) -> None:
    expected = _history(engine)
    aid = athlete_id(engine)
    summary = recompute_athlete(engine, analysis_env(anchored), aid, _day(27))
    assert (summary.full, summary.recomputed, summary.days) == (True, 6, 28)
    with engine.connect() as conn:
        rows = daily_rows(conn, aid)
        runs = run_rows(conn, aid)
        state = state_info(conn, aid)
    assert [r["date"] for r in rows] == [_day(i) for i in range(28)]
    assert all(list(r) == list(DAILY_KEYS) for r in rows)
    L = [expected.get(i, 0.0) for i in range(28)]
    for i, r in enumerate(rows):
        assert r["load"] == pytest.approx(L[i], rel=1e-9, abs=1e-12)
        assert r["acute"] == pytest.approx(sum(L[max(0, i - 6) : i + 1]) / 7, rel=1e-9, abs=1e-12)
        assert r["chronic"] == pytest.approx(sum(L[: i + 1]) / 28, rel=1e-9)
    assert all(r["acwr"] is None for r in rows[:27])  # defined from the 28th day
    last = rows[27]
    acute, chronic = sum(L[21:28]) / 7, sum(L) / 28
    assert last["acwr"] == pytest.approx(acute / chronic, rel=1e-9)
    assert last["acwr_uncoupled"] == pytest.approx(acute / (sum(L[:21]) / 21), rel=1e-9)
    ctl = atl = 0.0
    for x in L[:27]:
        ctl += (x - ctl) * (1 - math.exp(-1 / 42))
        atl += (x - atl) * (1 - math.exp(-1 / 7))
    assert last["tsb"] == pytest.approx(ctl - atl, rel=1e-9)
    week = L[21:28]
    mean = sum(week) / 7
    sd = math.sqrt(sum((x - mean) ** 2 for x in week) / 7)
    assert last["monotony"] == pytest.approx(mean / sd, rel=1e-9)
    assert last["strain"] == pytest.approx(sum(week) * mean / sd, rel=1e-9)
    assert [r["run_streak"] for r in rows[24:28]] == [0, 1, 0, 1]
    # The ride counts toward load but is not a run; the HR-less run is estimated.
    assert [r["local_date"] for r in runs] == [_day(i) for i in (0, 5, 22, 25, 27)]
    assert [r["load_method"] for r in runs] == ["trimp", "estimated", "trimp", "trimp", "trimp"]
    assert all(list(r) == list(RUN_KEYS) for r in runs)
    assert runs[0]["distance_m"] == pytest.approx(7200.0) and runs[0]["moving_s"] == pytest.approx(2400.0)
    assert (state.hr_max_bpm, state.hr_max_source, state.hr_rest_bpm, state.hr_rest_source) == (190, "config", 60, "config")
    assert not state.dirty and state.last_day == _day(27)


def test_sports_filter_is_a_settings_change(engine: Engine, anchored: Settings) -> None:
    expected = _history(engine)
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(27))
    runs_only = anchored.with_overrides({"analysis.sports": ["running"]})
    summary = recompute_athlete(engine, analysis_env(runs_only), aid, _day(27))
    # Which sports count changes the daily series, not what each activity's streams say.
    assert (summary.full, summary.reason, summary.recomputed) == (False, "series settings", 0)
    with engine.connect() as conn:
        rows = daily_rows(conn, aid)
    assert rows[2]["load"] == 0.0  # the ride no longer counts
    assert rows[0]["load"] == pytest.approx(expected[0], rel=1e-9)


def test_a_stream_setting_reanalyses_every_activity_and_a_series_setting_none(engine: Engine, anchored: Settings) -> None:
    _history(engine)
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(27))
    stricter = anchored.with_overrides({"analysis.min_run_m": 7000})
    summary = recompute_athlete(engine, analysis_env(stricter), aid, _day(27))
    assert (summary.full, summary.reason, summary.recomputed) == (True, "settings", 6)
    with engine.connect() as conn:
        runs = run_rows(conn, aid)
    assert runs and all(r["distance_m"] >= 7000 for r in runs)
    shorter = stricter.with_overrides({"analysis.acute_days": 3})
    summary = recompute_athlete(engine, analysis_env(shorter), aid, _day(27))
    assert (summary.full, summary.recomputed) == (False, 0)
    with engine.connect() as conn:
        rows = daily_rows(conn, aid)
    last = rows[-1]
    assert last["acute"] == pytest.approx(sum(r["load"] for r in rows[-3:]) / 3, rel=1e-9)
    assert recompute_athlete(engine, analysis_env(shorter), aid, _day(27)).recomputed == 0  # and it is then current


def test_hr_max_change_recomputes_every_trimp(engine: Engine, anchored: Settings) -> None:
    store(engine, [run(_day(0), 40, hr=150), run(_day(1), 30, hr=160)])
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(1))
    summary = recompute_athlete(engine, analysis_env(anchored.with_overrides({"athlete.hr_max_bpm": 200})), aid, _day(1))
    assert summary.full and summary.recomputed == 2
    with engine.connect() as conn:
        loads = [r["load"] for r in daily_rows(conn, aid)]
    assert loads == pytest.approx([40 * banister_per_minute(150, hr_max=200), 30 * banister_per_minute(160, hr_max=200)], rel=1e-9)


def test_multisport_counts_legs_not_parent(engine: Engine, anchored: Settings) -> None:
    leg_run = activity(_day(0), streams_for([(3.0, 1800)], hr=150.0))
    leg_bike = activity(_day(0), streams_for([(8.0, 2400)], hr=130.0, cadence=None), sport="cycling", hour=8)
    parent = activity(_day(0), streams_for([(3.0, 1800), (8.0, 2400)], hr=140.0), sport="multisport")
    parent.legs = [leg_run, leg_bike]
    store(engine, [parent])
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(0))
    with engine.connect() as conn:
        rows = daily_rows(conn, aid)
        methods = sorted(conn.execute(select(activity_metrics.c.load_method)).scalars())
    assert rows[0]["load"] == pytest.approx(30 * banister_per_minute(150) + 40 * banister_per_minute(130), rel=1e-9)
    assert methods == ["none", "trimp", "trimp"]
    assert rows[0]["run_streak"] == 1
