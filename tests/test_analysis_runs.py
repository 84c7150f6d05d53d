"""Per-run metrics on synthetic runs whose answer is known in advance."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.gap import minetti_cost
from analysis.runs import RunParams, has_reps, run_metrics


def cost(grade: float) -> float:
    return float(minetti_cost(np.array([grade]))[0])


def make_run(segments: list[tuple[float, float, float]], dt: float = 1.0) -> dict[str, np.ndarray]:
    """1 Hz run from (length m, speed m/s, grade) segments; a sample ends each step."""
    step_d, step_a = [], []
    for length_m, speed, grade in segments:
        n = int(round(length_m / (speed * dt)))
        step_d.append(np.full(n, speed * dt))
        step_a.append(np.full(n, speed * dt * grade))
    d = np.concatenate([[0.0], np.cumsum(np.concatenate(step_d))])
    alt = np.concatenate([[100.0], 100.0 + np.cumsum(np.concatenate(step_a))])
    t = np.arange(d.shape[0]) * dt
    return {"time_s": t, "distance_m": d, "altitude_m": alt}


def test_steady_flat_run() -> None:
    r = make_run([(9000, 3.0, 0.0)])  # 3000 one-second steps of 3 m
    m = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"])
    assert m.distance_m == pytest.approx(9000.0, abs=1e-6)
    assert m.moving_s == 3000.0
    assert m.gap_speed_mps == pytest.approx(3.0, rel=1e-9)
    assert m.fade_pct == pytest.approx(0.0, abs=1e-9)
    assert m.steady and m.steady_cv == pytest.approx(0.0, abs=1e-9)
    assert m.qualifies
    assert m.early_range_m == pytest.approx((900.0, 5400.0))
    assert m.late_range_m == pytest.approx((6750.0, 9000.0))
    assert m.decoupling_pct is None and m.cadence_drop_pct is None and m.hr_coverage == 0.0


def test_last_quarter_13_percent_slower_fades_13() -> None:
    # v_late = 0.87 v_early -> fade = 100 * (1 - 0.87) = 13
    r = make_run([(7500, 3.0, 0.0), (2500, 3.0 * 0.87, 0.0)])
    m = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"])
    assert m.fade_pct == pytest.approx(13.0, abs=0.01)
    assert m.steady  # the early stretch (10-60 %) is all at 3.0 m/s


def test_hilly_run_with_uphill_finish_at_constant_metabolic_cost() -> None:
    # Every segment is run at the speed where Cr(i) * v equals the flat 3.6 * 3.0.
    profile = [(2000, 0.0), (1000, 0.04), (1000, -0.04), (1000, 0.08), (1000, -0.08), (1500, 0.0), (2500, 0.06)]
    segments = [(length, 3.0 * cost(0.0) / cost(g), g) for length, g in profile]
    r = make_run(segments)
    minetti = RunParams(gap_model="minetti")  # this runner paces by metabolic cost, so Minetti's model fits it
    m = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"], params=minetti)
    # Grade smoothing blurs each change of slope over ~10 m, hence the small tolerances.
    assert m.fade_pct == pytest.approx(0.0, abs=0.1)
    assert m.gap_speed_mps == pytest.approx(3.0, rel=0.005)
    assert m.steady and m.steady_cv < 0.01  # 1-km splits from 1 to 6 km cross four hills
    v_late = segments[-1][1]
    early_km = [(1000, 3.0), (1000, segments[1][1]), (1000, segments[2][1]), (1000, segments[3][1]),
                (1000, segments[4][1])]
    v_early_plain = 5000 / sum(length / v for length, v in early_km)
    raw_fade = 100 * (1 - v_late / v_early_plain)
    assert raw_fade > 15  # without the correction this would read as a big fade
    # Treadmill: no GAP correction, so the plain speeds show through.
    tm = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"], treadmill=True)
    assert tm.fade_pct == pytest.approx(raw_fade, abs=0.1)
    assert tm.gap_speed_mps == pytest.approx(tm.distance_m / tm.moving_s, rel=1e-12)
    assert not tm.steady


def test_treadmill_from_speed_only() -> None:
    t = np.arange(0.0, 2401.0)
    speed = np.full(t.shape, 3.0)
    m = run_metrics(t, None, speed_mps=speed, treadmill=True)
    assert m.distance_m == pytest.approx(7200.0)
    assert m.moving_s == pytest.approx(2400.0)
    assert m.fade_pct == pytest.approx(0.0, abs=1e-9) and m.qualifies


def test_interval_session_is_not_steady() -> None:
    reps = [(1500, 2.8, 0.0)] + [(1000, 4.5, 0.0), (500, 2.5, 0.0)] * 5 + [(1000, 2.8, 0.0)]
    r = make_run(reps)
    m = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"])
    assert m.qualifies
    assert not m.steady and m.steady_cv > 0.10
    # Short reps average out in 1-km splits; shorter splits catch them.
    short = make_run([(1000, 2.8, 0.0)] + [(200, 5.0, 0.0), (200, 2.5, 0.0)] * 20 + [(1000, 2.8, 0.0)])
    assert not run_metrics(short["time_s"], short["distance_m"], params=RunParams(steady_split_m=200)).steady


@pytest.mark.parametrize("offset_m", [0, 100, 200, 300])  # wherever the reps fall against the splits
def test_short_reps_are_not_steady_with_default_settings(offset_m: int) -> None:
    reps = [(1000 + offset_m, 2.8, 0.0)] + [(400, 5.0, 0.0), (400, 2.5, 0.0)] * 12 + [(1000, 2.8, 0.0)]
    r = make_run(reps)
    m = run_metrics(r["time_s"], r["distance_m"], altitude_m=r["altitude_m"])
    assert m.qualifies and m.steady_cv is not None and m.steady_cv < 0.10  # the 1-km splits alone miss them
    assert not m.steady and m.reps


def test_a_noisy_but_steady_run_stays_steady() -> None:
    # GPS-like noise: each second's distance off by a few metres, pace wandering slowly.
    rng = np.random.default_rng(3)
    n = 3300
    pace = 3.0 + 0.15 * np.sin(np.arange(n) / 400.0)
    step = np.clip(pace + rng.normal(0.0, 0.6, n), 0.6, None)
    d = np.concatenate([[0.0], np.cumsum(step)])
    t = np.arange(d.shape[0], dtype=float)
    m = run_metrics(t, d)
    assert m.qualifies and not m.reps
    assert m.steady


def test_reps_by_hand() -> None:
    # Otsu's split of [2, 2, 2, 4, 4, 4] explains all the variance: reps, fast/slow = 2.
    assert has_reps(np.array([2.0, 2, 2, 4, 4, 4]))
    assert not has_reps(np.array([2.0, 2, 2, 4, 4, 4]), min_ratio=2.5)
    # One fast outlier: the smaller group holds 1/6 < 20 %.
    assert not has_reps(np.array([3.0, 3, 3, 3, 3, 6]))
    # Evenly spread speeds: the best split explains 77 % (< 80 %).
    assert not has_reps(np.array([2.0, 2.5, 3.0, 3.5, 4.0, 4.5]))
    assert not has_reps(np.array([3.0, 3.0, 3.0, 3.0, 3.0]))  # no variance at all


def _decoupling_by_hand(hr: list[float], speed: float, warmup_s: int, total_s: int) -> float:
    # All steps are 1 s and moving; the step ending at sample i covers moving time (i-1, i].
    mid = (warmup_s + total_s) / 2
    first = [hr[i] for i in range(1, total_s + 1) if warmup_s < i <= mid]
    second = [hr[i] for i in range(1, total_s + 1) if i > mid]
    ef1 = speed / (sum(first) / len(first))
    ef2 = speed / (sum(second) / len(second))
    return 100 * (ef1 - ef2) / ef1


def test_decoupling_with_hr_drift_at_constant_pace() -> None:
    r = make_run([(10_800, 3.0, 0.0)])  # 3600 s
    t = r["time_s"]
    hr = 140.0 + 20.0 * t / 3600.0
    m = run_metrics(t, r["distance_m"], altitude_m=r["altitude_m"], hr_bpm=hr)
    expected = _decoupling_by_hand(hr.tolist(), 3.0, 600, 3600)
    assert expected > 0
    assert m.decoupling_pct == pytest.approx(expected, rel=1e-9)
    assert m.hr_coverage == pytest.approx(1.0)
    flat_hr = run_metrics(t, r["distance_m"], hr_bpm=np.full(t.shape, 150.0))
    assert flat_hr.decoupling_pct == pytest.approx(0.0, abs=1e-9)


def test_decoupling_needs_90_percent_hr() -> None:
    r = make_run([(10_800, 3.0, 0.0)])
    hr = np.full(r["time_s"].shape, 150.0)
    hr[1000:1400] = np.nan  # 400 of 3600 s missing: 88.9 % coverage
    m = run_metrics(r["time_s"], r["distance_m"], hr_bpm=hr)
    assert m.hr_coverage == pytest.approx(3200 / 3600)
    assert m.decoupling_pct is None
    ok = run_metrics(r["time_s"], r["distance_m"], hr_bpm=hr, params=RunParams(decoupling_min_hr_coverage=0.85))
    assert ok.decoupling_pct == pytest.approx(0.0, abs=1e-9)


def test_cadence_drop() -> None:
    r = make_run([(7000, 3.0, 0.0), (3000, 3.0, 0.0)])
    cad = np.where(r["distance_m"] <= 7000, 180.0, 171.0)
    cad[5::50] = 0.0  # dropouts are ignored
    m = run_metrics(r["time_s"], r["distance_m"], cadence_spm=cad)
    assert m.cadence_drop_pct == pytest.approx(100 * (1 - 171 / 180), rel=1e-9)


def test_pauses_are_excluded() -> None:
    base = make_run([(10_000, 3.0, 0.0)])
    t, d = base["time_s"], base["distance_m"]
    k = 1500
    # A 5-minute standstill with the timer running, then a 10-minute timer stop.
    t_p = np.concatenate([t[:k], t[k - 1] + np.arange(1.0, 301.0), t[k:] + 300 + 600])
    d_p = np.concatenate([d[:k], np.full(300, d[k - 1]), d[k:]])
    hr_p = np.full(t_p.shape, 150.0)
    plain = run_metrics(t, d, hr_bpm=np.full(t.shape, 150.0))
    paused = run_metrics(t_p, d_p, hr_bpm=hr_p)
    assert paused.moving_s == pytest.approx(plain.moving_s - 1.0)  # the step that ends the stop goes too
    assert paused.distance_m == pytest.approx(plain.distance_m - 3.0)
    assert paused.gap_speed_mps == pytest.approx(3.0)
    assert paused.fade_pct == pytest.approx(0.0, abs=1e-9) and paused.steady
    assert paused.decoupling_pct == pytest.approx(0.0, abs=1e-9)


def test_qualification_thresholds() -> None:
    short = make_run([(4900, 3.0, 0.0)])
    assert not run_metrics(short["time_s"], short["distance_m"]).qualifies
    fast = make_run([(6000, 6.0, 0.0)])  # 1000 s < 20 min
    assert not run_metrics(fast["time_s"], fast["distance_m"]).qualifies
    assert run_metrics(fast["time_s"], fast["distance_m"], params=RunParams(min_moving_s=900)).qualifies


def test_degenerate_inputs() -> None:
    m = run_metrics(np.array([0.0]), np.array([0.0]))
    assert m.distance_m == 0.0 and not m.qualifies and m.fade_pct is None
    still = run_metrics(np.arange(100.0), np.zeros(100))
    assert still.moving_s == 0.0 and still.fade_pct is None and not still.steady
    with pytest.raises(ValueError):
        run_metrics(np.arange(10.0), None)
