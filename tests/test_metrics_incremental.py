"""Incremental recompute: only changed activities are analysed again; baselines follow."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from heavylegs.metrics.read import daily_rows, run_rows, state_info
from heavylegs.metrics.recompute import recompute_athlete, recompute_dirty
from heavylegs.metrics.tables import activity_metrics
from heavylegs.service.envs import analysis_env
from heavylegs.settings import Settings
from heavylegs.store.activities import delete_activity
from tests.metrics_synth import activity, athlete_id, banister_per_minute, run, store, streams_for

D0 = date(2024, 5, 1)


def _day(i: int) -> date:
    return D0 + timedelta(days=i)


@pytest.fixture
def anchored(settings: Settings) -> Settings:
    return settings.with_overrides({"athlete.hr_rest_bpm": 60, "athlete.hr_max_bpm": 190})


def faded(day: date, late_speed: float, hour: int = 7):  # type: ignore[no-untyped-def]
    """5400 m at 3.0 m/s, then 1800 m (exactly the last quarter) at ``late_speed``.

    On the flat, fade = 100 * (1 - late_speed / 3.0) exactly: the early
    stretch (10-60 %) lies wholly in the first part, the late one (75-100 %)
    wholly in the second. ``1800 / late_speed`` must be whole seconds.
    """
    seconds = round(1800 / late_speed)
    assert seconds * late_speed == pytest.approx(1800.0)
    return activity(day, streams_for([(3.0, 1800), (late_speed, seconds)]), hour=hour)


def _computed_ts(engine: Engine) -> dict[int, float]:
    with engine.connect() as conn:
        return dict(conn.execute(select(activity_metrics.c.activity_id, activity_metrics.c.computed_ts)).all())


def _fvb(engine: Engine, aid: int) -> list[float | None]:
    with engine.connect() as conn:
        return [r["fade_vs_baseline"] for r in run_rows(conn, aid)]


def test_baselines_and_incremental_insert_in_the_middle(engine: Engine, anchored: Settings) -> None:
    # A baseline from a single earlier run keeps the arithmetic small (the default needs 3).
    anchored = anchored.with_overrides({"analysis.baseline_min_runs": 1})
    # Fades 4 %, 0 %, 16.67 %, 6.25 %; all steady (even 3.0 m/s in the early stretch).
    ids = store(engine, [faded(_day(0), 2.88), faded(_day(1), 3.0), faded(_day(2), 2.5), faded(_day(3), 2.8125)])
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(3))
    with engine.connect() as conn:
        runs = run_rows(conn, aid, detail=True)
    assert [r["fade_pct"] for r in runs] == pytest.approx([4.0, 0.0, 100 / 6, 6.25], abs=1e-9)
    assert all(r["steady"] for r in runs)
    # Baseline = median of the earlier steady fades; fade_vs_baseline = fade - median.
    assert runs[0]["fade_vs_baseline"] is None and runs[0]["baseline_median"] is None
    assert runs[1]["fade_vs_baseline"] == pytest.approx(0.0 - 4.0)
    assert runs[2]["baseline_median"] == pytest.approx(2.0) and runs[2]["baseline_mad"] == pytest.approx(2.0)
    assert runs[2]["fade_z"] == pytest.approx((100 / 6 - 2.0) / 2.0)
    # 16.67 > 2 + max(3, 3 * 1.4826 * 2) = 10.9: an outlier, left out of later baselines.
    assert runs[3]["fade_vs_baseline"] == pytest.approx(6.25 - 2.0)
    assert runs[3]["baseline_mad"] == pytest.approx(2.0)  # pool [4, 0]
    before = _computed_ts(engine)

    # A 20 % fade arrives late for day 1 (evening): only it is analysed, later baselines move.
    (new_id,) = store(engine, [faded(_day(1), 2.4, hour=18)])
    with engine.connect() as conn:
        assert state_info(conn, aid).dirty
    summary = recompute_athlete(engine, analysis_env(anchored), aid, _day(3))
    assert (summary.full, summary.recomputed, summary.reason) == (False, 1, "changes")
    after = _computed_ts(engine)
    assert {i: after[i] for i in ids} == {i: before[i] for i in ids}
    assert new_id in after
    fvb = _fvb(engine, aid)
    assert fvb[0] is None
    # previous steady fades: [4]; [4, 0]; [4, 0, (20)]; [4, 0, (20), (16.67)]; outliers in brackets
    assert fvb[1:] == pytest.approx([-4.0, 20.0 - 2.0, 100 / 6 - 2.0, 6.25 - 2.0], abs=1e-9)
    with engine.connect() as conn:
        assert not state_info(conn, aid).dirty

    # Deleting it again: rows vanish by cascade and the baselines go back.
    with engine.begin() as conn:
        assert delete_activity(conn, new_id)
    summary = recompute_athlete(engine, analysis_env(anchored), aid, _day(3))
    assert summary.recomputed == 0
    assert new_id not in _computed_ts(engine)
    assert _fvb(engine, aid)[3] == pytest.approx(6.25 - 2.0)


def test_upgraded_copy_is_recomputed(engine: Engine, anchored: Settings) -> None:
    base = streams_for([(3.0, 2400)], hr=140.0)
    store(engine, [activity(_day(0), base, fmt="gpx"), run(_day(1), 30, hr=150)])
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(anchored), aid, _day(1))
    # The FIT copy of the same run (same start, duration, distance) carries other HR.
    store(engine, [activity(_day(0), streams_for([(3.0, 2400)], hr=160.0), fmt="fit")])
    summary = recompute_athlete(engine, analysis_env(anchored), aid, _day(1))
    assert (summary.full, summary.recomputed) == (False, 1)
    with engine.connect() as conn:
        rows = daily_rows(conn, aid)
    assert rows[0]["load"] == pytest.approx(40 * banister_per_minute(160), rel=1e-9)
    assert rows[1]["load"] == pytest.approx(30 * banister_per_minute(150), rel=1e-9)


def test_recompute_dirty_picks_dirty_changed_and_stale_athletes(engine: Engine, anchored: Settings) -> None:
    store(engine, [run(_day(0), 30)], athlete="ann")
    store(engine, [run(_day(0), 30)], athlete="bob")
    today = {"ann": _day(2), "bob": _day(2)}
    first = recompute_dirty(engine, analysis_env(anchored), lambda name: today[name])
    assert sorted((s.athlete, s.full) for s in first) == [("ann", True), ("bob", True)]
    assert recompute_dirty(engine, analysis_env(anchored), lambda name: today[name]) == []
    store(engine, [run(_day(1), 30)], athlete="bob")
    again = recompute_dirty(engine, analysis_env(anchored), lambda name: today[name])
    assert [(s.athlete, s.reason, s.recomputed) for s in again] == [("bob", "changes", 1)]
    # A new local day for ann only: her series grows to the new day (ratios decay).
    today["ann"] = _day(3)
    rolled = recompute_dirty(engine, analysis_env(anchored), lambda name: today[name])
    assert [(s.athlete, s.reason, s.recomputed, s.days) for s in rolled] == [("ann", "day", 0, 4)]
    changed = recompute_dirty(engine, analysis_env(anchored.with_overrides({"analysis.ctl_days": 30})), lambda name: today[name])
    assert sorted((s.athlete, s.reason, s.recomputed) for s in changed) == [("ann", "series settings", 0), ("bob", "series settings", 0)]
