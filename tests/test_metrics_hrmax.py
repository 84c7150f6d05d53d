"""HR anchors derived from the athlete's own samples when not configured."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from heavylegs.metrics.read import daily_rows, describe_anchors, state_info
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.service.envs import analysis_env
from heavylegs.settings import Settings
from tests.metrics_synth import activity, athlete_id, banister_per_minute, store, streams_for

TODAY = date(2025, 6, 30)


def ramp(lo: int, hi: int, seconds: int) -> np.ndarray:
    """A whole-bpm heart-rate ramp, one sample per second plus the start sample."""
    return np.round(np.linspace(lo, hi, seconds + 1))


def test_hr_max_is_the_percentile_of_the_last_year(engine: Engine, settings: Settings) -> None:
    hr_a, hr_b = ramp(110, 182, 2400), ramp(120, 176, 3000)
    flat = np.full(1801, 150.0)
    store(
        engine,
        [
            # 400 days old and much higher: outside the window, must not count.
            activity(TODAY - timedelta(days=400), streams_for([(3.0, 2400)], hr=ramp(150, 205, 2400))),
            activity(TODAY - timedelta(days=100), streams_for([(3.0, 2400)], hr=hr_a)),
            activity(TODAY - timedelta(days=10), streams_for([(3.0, 3000)], hr=hr_b)),
            activity(TODAY, streams_for([(3.0, 1800)], hr=flat)),
        ],
    )
    aid = athlete_id(engine)
    summary = recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    expected = float(np.percentile(np.concatenate([hr_a, hr_b, flat]), 99.5))
    assert summary.hr_max_bpm == pytest.approx(expected)
    assert (summary.hr_max_source, summary.hr_rest_bpm, summary.hr_rest_source) == ("p99.5-365d", 60.0, "default")
    with engine.connect() as conn:
        state = state_info(conn, aid)
        last = daily_rows(conn, aid)[-1]
    assert state.hr_max_bpm == pytest.approx(expected)
    assert "99.5th percentile" in describe_anchors(state) and "HRrest 60 bpm (default)" in describe_anchors(state)
    # The flat 150 bpm run today is scored against the derived HRmax.
    assert last["load"] == pytest.approx(30 * banister_per_minute(150, 60.0, expected), rel=1e-9)


def test_old_archive_alone_uses_its_own_latest_year(engine: Engine, settings: Settings) -> None:
    old = TODAY - timedelta(days=2000)
    hr = ramp(100, 190, 3600)
    store(engine, [activity(old, streams_for([(3.0, 3600)], hr=hr))])
    summary = recompute_athlete(engine, analysis_env(settings), athlete_id(engine), TODAY)
    assert summary.hr_max_bpm == pytest.approx(float(np.percentile(hr, 99.5)))


def test_without_heart_rate_the_default_is_reported(engine: Engine, settings: Settings) -> None:
    store(engine, [activity(TODAY, streams_for([(3.0, 1800)], hr=None))])
    summary = recompute_athlete(engine, analysis_env(settings), athlete_id(engine), TODAY)
    assert (summary.hr_max_bpm, summary.hr_max_source) == (190.0, "default")


def test_small_drift_keeps_the_hr_max_in_use(engine: Engine, settings: Settings) -> None:
    store(engine, [activity(TODAY - timedelta(days=1), streams_for([(3.0, 3600)], hr=ramp(100, 180, 3600)))])
    aid = athlete_id(engine)
    first = recompute_athlete(engine, analysis_env(settings), aid, TODAY - timedelta(days=1))
    # A run whose samples nudge the percentile by less than 1 bpm: no full recompute.
    store(engine, [activity(TODAY, streams_for([(3.0, 600)], hr=np.full(601, 179.0)))])
    second = recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    assert (second.full, second.recomputed, second.hr_max_bpm) == (False, 1, first.hr_max_bpm)
    # A much harder run moves it by more: every TRIMP is recomputed.
    store(engine, [activity(TODAY, streams_for([(3.0, 1200)], hr=np.full(1201, 186.0)), hour=18)])
    third = recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    assert third.full and third.reason == "anchors" and third.recomputed == 3
    assert third.hr_max_bpm > first.hr_max_bpm + 1


def test_histogram_percentile_agrees_with_the_engine_on_raw_samples() -> None:
    from analysis.hr import hr_max_from_samples
    from heavylegs.metrics.anchors import hr_histogram, hr_max_from_hist

    rng = np.random.default_rng(3)
    for n in (500, 601, 5000, 40000):
        samples = np.round(rng.normal(150, 25, n)).clip(0, 255)  # some outside 30..240 on purpose
        samples[::97] = np.nan
        hist = hr_histogram(samples)
        for pct in (99.5, 95.0, 50.0, 100.0):
            want = hr_max_from_samples(samples, percentile=pct)
            got = hr_max_from_hist(hist, pct)
            assert (got is None and want is None) or got == pytest.approx(want, abs=1e-9)
