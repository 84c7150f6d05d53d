"""Personal baselines: normal variation raises nothing, a run of fading long runs raises every time."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from analysis.baseline import MAD_TO_SD, rolling_baselines
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import list_alerts
from heavylegs.metrics.read import run_rows
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.service.envs import analysis_env
from heavylegs.service.jobs import alerts_context
from heavylegs.settings import load_settings
from heavylegs.store.db import make_engine, migrate
from tests.metrics_synth import activity, athlete_id, store
from tests.runs_synth import terrain_run


def test_rolling_baselines_by_hand() -> None:
    med, mad, out = rolling_baselines([2.0, 1.0, 3.0, 2.0, 12.0, 13.0, 2.0], min_runs=3)
    assert np.isnan(med[:3]).all()
    # pool [2, 1, 3]: median 2, MAD median(0, 1, 1) = 1
    assert (med[3], mad[3]) == (2.0, 1.0)
    # pool [2, 1, 3, 2]: median 2, MAD 0.5; 12 > 2 + max(3, 3 * 1.4826 * 0.5) = 5 -> outlier
    assert (med[4], mad[4]) == (2.0, 0.5) and out[4]
    # 12 left out: pool stays [2, 1, 3, 2], so 13 is judged against the same baseline
    assert (med[5], mad[5]) == (2.0, 0.5) and out[5] and (med[6], mad[6]) == (2.0, 0.5) and not out[6]
    # Comparable duration: a 100-minute run compares with the 90-120 minute ones only.
    vals = [1.0, 1.0, 1.0, 4.0, 5.0, 6.0, np.nan]
    durs = [40, 40, 40, 90, 100, 120, 100]
    med, _, _ = rolling_baselines(vals, durs, min_runs=3)
    assert med[6] == 5.0 and med[3] == 1.0  # the 4th run has no comparable pool yet: all earlier runs
    # A lasting change is learned once the outliers are most of the recent runs.
    med, _, _ = rolling_baselines([1.0] * 5 + [9.0] * 12, n=10, min_runs=3)
    assert med[-1] == 9.0


def _day(d0: date, n: int) -> date:
    return d0 + timedelta(days=n)


@pytest.fixture
def history(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'h.db'}", environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    yield engine, settings
    engine.dispose()


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_normal_variation_is_silent_and_fading_long_runs_alert_each_time(history, seed: int) -> None:  # type: ignore[no-untyped-def]
    engine, settings = history
    rng = np.random.default_rng(seed)
    d0 = date(2024, 3, 4)
    acts, fading_days, summer_days, inside_range_days = [], [], [], []
    weeks = 14
    for w in range(weeks):
        for dow in (0, 2, 4):  # easy 10 km, natural fade 0-4 %, drift 2-4 bpm/h
            s = terrain_run([(10000.0, 0.0)], fade_pct=float(rng.uniform(0, 4)), drift_bpm_h=float(rng.uniform(2, 4)), seed=w * 7 + dow)
            acts.append(activity(_day(d0, w * 7 + dow), s))
        day = _day(d0, w * 7 + 6)
        fade, drift = float(rng.uniform(0, 4)), float(rng.uniform(3, 6))
        if w in (2, 3):
            fade = 4.6  # a little above the usual 0-4 %: still the runner's normal range
            inside_range_days.append(day)
        if 4 <= w < 8:
            # Summer: 11-13 bpm/h with a small fade gives 5-6.4 % decoupling on the long run.
            fade, drift = float(rng.uniform(0, 1)), float(rng.uniform(11, 13))
            summer_days.append(day)
        if w >= 9:
            fade = float(rng.uniform(10, 15))  # the overload episode: every long run fades 10-15 %
            fading_days.append(day)
        acts.append(activity(day, terrain_run([(16000.0, 0.0)], fade_pct=fade, drift_bpm_h=drift, seed=1000 + w)))
        if w == 10:  # a second long run that week: 6 fading runs in 5 weeks
            extra = _day(d0, w * 7 + 3)
            acts.append(activity(extra, terrain_run([(15000.0, 0.0)], fade_pct=float(rng.uniform(10, 15)), seed=2000 + w)))
            fading_days.append(extra)
    store(engine, acts)
    aid = athlete_id(engine)
    last = _day(d0, weeks * 7)
    recompute_athlete(engine, analysis_env(settings), aid, last)
    with engine.connect() as conn:
        runs = {r["local_date"]: r for r in run_rows(conn, aid, detail=True) if r["distance_m"] > 14000}
    assert all(r["steady"] for r in runs.values())
    summer = [runs[d]["decoupling_pct"] for d in summer_days]
    assert min(summer) > 4.8 and max(summer) < 6.6  # the drift the test means to produce
    assert all(4.3 <= runs[d]["fade_pct"] <= 4.6 for d in inside_range_days)
    # The fading runs do not become the norm: their baseline stays that of the healthy weeks.
    assert all(runs[d]["baseline_median"] < 3.0 for d in fading_days)
    # Decoupling and cadence baselines come with the detail rows: long runs against long runs.
    late_summer = runs[summer_days[-1]]
    pool = [runs[d]["decoupling_pct"] for d in sorted(runs) if d < summer_days[-1]][-10:]
    assert late_summer["decoupling_baseline_median"] == pytest.approx(float(np.median(pool)))
    assert late_summer["cadence_baseline_median"] == pytest.approx(0.0, abs=1e-9)  # constant cadence

    check(engine, alerts_context(settings), datetime.combine(last, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=12))
    found = list_alerts(engine)
    by_rule: dict[str, list[dict]] = {}
    for a in found:
        by_rule.setdefault(a["rule"], []).append(a)
    fading_dates = sorted(d.isoformat() for d in fading_days)
    assert len(fading_dates) == 6
    late = sorted(by_rule.get("late_fade", []), key=lambda a: a["date"])
    assert [a["date"] for a in late] == fading_dates  # each fading run, and nothing else
    assert {a["severity"] for a in late} == {"warning"}
    rec = by_rule.get("recurring_fade", [])
    assert len(rec) == 1 and rec[0]["date"] <= fading_dates[2]  # by the third fading run
    episode_start = fading_dates[0]
    assert [a for a in by_rule.get("decoupling", []) if a["date"] < episode_start] == []


def _row(i: int, dec: float, fade: float = 1.0, minutes: float = 100.0) -> dict:
    return {"activity_id": i, "local_date": date(2024, 1, 1) + timedelta(days=i), "qualifies": True, "steady": True,
            "moving_s": minutes * 60.0, "decoupling_pct": dec, "fade_pct": fade}


def test_decoupling_rule_against_the_runners_own_drift(tmp_path: Path) -> None:
    from heavylegs.alerts.rules_runs import decoupling

    cfg = load_settings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}", environ={}).section("alerts.rules.decoupling")
    spring = [_row(i, d) for i, d in enumerate([3.0, 3.5, 2.5, 3.0, 4.0, 3.5, 2.0, 3.0])]
    # median 3.0, MAD 0.5: needs >= 5, >= 3 + 4 = 7 and > 3 + 3 * 1.4826 * 0.5 = 5.22
    summer = [_row(8, 6.4), _row(9, 6.9)]
    assert list(decoupling(spring + summer, cfg)) == []
    found = list(decoupling(spring + [_row(8, 7.2)], cfg))
    assert [f.activity_id for f in found] == [8] and found[0].metrics["baseline_median"] == 3.0
    # The same drift on a run that also fades 9 % is late_fade's to report.
    assert list(decoupling(spring + [_row(8, 7.2, fade=9.0)], cfg)) == []
    # Without 5 earlier runs the fixed 5 % applies.
    assert [f.activity_id for f in decoupling([_row(0, 3.0), _row(1, 5.5)], cfg)] == [1]


def _brute_force_baselines(v: np.ndarray, dur: np.ndarray, n: int, min_runs: int, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """The docstring's definition read literally: every earlier comparable run, then the last n."""
    med, out = np.full(v.size, np.nan), np.zeros(v.size, dtype=bool)
    seen: list[int] = []
    for i in range(v.size):
        comp = [j for j in seen if dur[i] / ratio <= dur[j] <= dur[i] * ratio]
        pool = comp if len(comp) >= min_runs else seen
        recent = pool[-n:]
        clean = [j for j in recent if not out[j]]
        use = clean if len(clean) >= min_runs else recent
        if len(use) >= min_runs:
            x = v[use]
            med[i] = np.median(x)
            mad = np.median(np.abs(x - med[i]))
            out[i] = bool(v[i] > med[i] + max(3.0, 3.0 * MAD_TO_SD * mad))
        if np.isfinite(v[i]):
            seen.append(i)
    return med, out


def test_rolling_baselines_backward_scan_matches_the_definition() -> None:
    rng = np.random.default_rng(7)
    v = rng.normal(3.0, 2.0, 400)
    v[rng.random(400) < 0.1] = np.nan
    v[rng.random(400) < 0.05] += 12.0  # outliers that must stay out of later pools
    dur = rng.choice([1800.0, 2700.0, 3600.0, 7200.0, 9000.0], 400) * rng.uniform(0.9, 1.1, 400)
    med, _, out = rolling_baselines(v, dur, n=10, min_runs=3)
    ref_med, ref_out = _brute_force_baselines(v, dur, 10, 3, 1.5)
    np.testing.assert_allclose(med, ref_med, equal_nan=True)
    assert (out == ref_out).all()
    assert np.isfinite(med).sum() > 300


def test_rolling_baselines_from_a_start_equal_a_call_from_the_first_run() -> None:
    """The incremental recompute passes the earlier runs' outlier flags and computes only the rest."""
    rng = np.random.default_rng(11)
    v = rng.normal(3.0, 2.0, 300)
    v[rng.random(300) < 0.1] = np.nan
    v[rng.random(300) < 0.08] += 12.0
    dur = rng.choice([1800.0, 3600.0, 7200.0], 300) * rng.uniform(0.9, 1.1, 300)
    med, mad, out = rolling_baselines(v, dur, n=10, min_runs=3)
    assert out.sum() >= 5  # the flags carried over matter
    for start in (1, 57, 299):
        m2, d2, o2 = rolling_baselines(v, dur, n=10, min_runs=3, start=start, earlier_outliers=out[:start])
        np.testing.assert_array_equal(m2[start:], med[start:])
        np.testing.assert_array_equal(d2[start:], mad[start:])
        assert (o2 == out).all() and np.isnan(m2[:start]).all()
    # Flags that differ from the true ones change the later pools: the carried state is really used.
    wrong, _, _ = rolling_baselines(v, dur, n=10, min_runs=3, start=150, earlier_outliers=np.zeros(150, dtype=bool))
    assert not np.array_equal(wrong[150:], med[150:], equal_nan=True)
