"""Daily series against a plain-loop reference written from the definitions."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from analysis.daily import SERIES_KEYS, DailyParams, daily_load, daily_series, exp_smooth

NAN = float("nan")


def reference(load: list[float]) -> dict[str, list[float]]:
    """The definitions, one day at a time with explicit sums (days before 0 are 0)."""
    L = lambda j: load[j] if j >= 0 else 0.0  # noqa: E731
    out: dict[str, list[float]] = {k: [] for k in ("acute", "chronic", "acwr", "acwr_uncoupled", "acwr_ewma",
                                                    "ctl", "atl", "tsb", "monotony", "strain")}
    e7 = e28 = ctl = atl = 0.0
    for d in range(len(load)):
        acute = sum(L(j) for j in range(d - 6, d + 1)) / 7
        chronic = sum(L(j) for j in range(d - 27, d + 1)) / 28
        older = sum(L(j) for j in range(d - 27, d - 6)) / 21
        e7 = (2 / 8) * L(d) + (1 - 2 / 8) * e7
        e28 = (2 / 29) * L(d) + (1 - 2 / 29) * e28
        out["tsb"].append(ctl - atl)  # yesterday's values
        ctl = ctl + (L(d) - ctl) * (1 - math.exp(-1 / 42))
        atl = atl + (L(d) - atl) * (1 - math.exp(-1 / 7))
        week = [L(j) for j in range(d - 6, d + 1)]
        sd = statistics.pstdev(week)
        mono = statistics.fmean(week) / sd if max(week) != min(week) else NAN
        out["acute"].append(acute)
        out["chronic"].append(chronic)
        out["acwr"].append(acute / chronic if d >= 27 and chronic > 0 else NAN)
        out["acwr_uncoupled"].append(acute / older if d >= 27 and older > 0 else NAN)
        out["acwr_ewma"].append(e7 / e28 if d >= 27 and e28 > 0 else NAN)
        out["ctl"].append(ctl)
        out["atl"].append(atl)
        out["monotony"].append(mono)
        out["strain"].append(sum(week) * mono)
    return out


def _check(load: list[float]) -> dict[str, np.ndarray]:
    got = daily_series(np.array(load), np.array(load) > 0)
    assert set(got) == set(SERIES_KEYS)
    ref = reference(load)
    for key, values in ref.items():
        np.testing.assert_allclose(got[key], values, rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=key)
    return got


def test_thirty_days_with_rest_days_and_a_gap() -> None:
    load = [60, 0, 80, 45, 0, 120, 0, 70, 70, 0, 0, 0, 0, 0, 0, 0,  # a week-long gap
            90, 50, 0, 110, 65, 0, 140, 30, 0, 75, 100, 0, 85, 95]
    assert len(load) == 30
    got = _check([float(x) for x in load])
    assert np.isnan(got["acwr"][:27]).all() and np.isnan(got["acwr_uncoupled"][:27]).all()
    assert np.isnan(got["acwr_ewma"][:27]).all()
    assert np.isfinite(got["acwr"][27:]).all()
    # Day 27 by hand: acute = days 21..27 = (0+140+30+0+75+100+0)/7 = 345/7; chronic = days 0..27
    # = (60+80+45+120+70+70+90+50+110+65+140+30+75+100)/28 = 1105/28; older = days 0..20 = 760/21.
    assert got["acwr"][27] == pytest.approx((345 / 7) / (1105 / 28))
    assert got["acwr_uncoupled"][27] == pytest.approx((345 / 7) / (760 / 21))


def test_denominator_zero_after_a_long_break() -> None:
    load = [100.0] * 3 + [0.0] * 40 + [50.0]
    got = _check(load)
    # Day 30: chronic window 3..30 is empty. Day 43, a comeback after 40 empty days: the
    # coupled ratio includes today in both windows, so it reads 28/7 = 4; the uncoupled
    # one has an empty older window (days 16..36).
    assert np.isnan(got["acwr"][30]) and np.isnan(got["acwr_uncoupled"][30])
    assert got["acwr"][43] == pytest.approx(4.0)
    assert np.isnan(got["acwr_uncoupled"][43])
    assert np.isfinite(got["acwr_ewma"][43])  # an EWMA decays but never reaches 0
    assert got["run_streak"].tolist()[-3:] == [0, 0, 1]


def test_ewma_ctl_atl_first_days_by_hand() -> None:
    got = daily_series(np.array([100.0, 0.0, 50.0]), np.array([True, False, True]))
    lam7, lam28 = 0.25, 2 / 29
    e7 = [25.0, 18.75, 0.25 * 50 + 0.75 * 18.75]  # 0.25*100; 0.75*25; 12.5 + 14.0625 = 26.5625
    e28 = [lam28 * 100, (1 - lam28) * lam28 * 100, lam28 * 50 + (1 - lam28) ** 2 * lam28 * 100]
    smoothed = exp_smooth([100.0, 0.0, 50.0], [lam7, lam28])
    np.testing.assert_allclose(smoothed[0], e7, rtol=1e-14)
    np.testing.assert_allclose(smoothed[1], e28, rtol=1e-14)
    assert smoothed[0][2] == pytest.approx(26.5625)
    assert got["acwr_ewma"].shape == (3,) and np.isnan(got["acwr_ewma"]).all()  # before day 27
    k42, k7 = 1 - math.exp(-1 / 42), 1 - math.exp(-1 / 7)
    assert got["ctl"][0] == pytest.approx(100 * k42)
    assert got["atl"][0] == pytest.approx(100 * k7)
    assert got["ctl"][1] == pytest.approx(100 * k42 * (1 - k42))
    assert got["tsb"][0] == 0.0
    assert got["tsb"][1] == pytest.approx(100 * k42 - 100 * k7)
    assert got["acute"][0] == pytest.approx(100 / 7) and got["chronic"][2] == pytest.approx(150 / 28)
    # The EWMA ratio itself on a longer series whose day-27 values are known in closed form:
    # a single load of 100 on day 0 then zeros -> EWMA_N(27) = lam * 100 * (1 - lam)^27.
    long = daily_series(np.array([100.0] + [0.0] * 27), np.zeros(28, dtype=bool))
    ewma7 = lam7 * 100 * (1 - lam7) ** 27
    ewma28 = e28[0] * (1 - lam28) ** 27
    assert long["acwr_ewma"][27] == pytest.approx(ewma7 / ewma28, rel=1e-12)


def test_monotony_and_strain() -> None:
    constant = daily_series(np.full(10, 50.0), np.ones(10, dtype=bool))
    assert np.isnan(constant["monotony"][6:]).all() and np.isnan(constant["strain"][6:]).all()
    # Days 0..5 still see the zero days before the first activity: not constant.
    assert np.isfinite(constant["monotony"][:6]).all()
    week = [0.0, 100.0, 0.0, 100.0, 0.0, 100.0, 50.0]
    got = daily_series(np.array(week), np.array(week) > 0)
    mean = 350 / 7
    sd = math.sqrt(sum((x - mean) ** 2 for x in week) / 7)
    assert got["monotony"][6] == pytest.approx(mean / sd)
    assert got["strain"][6] == pytest.approx(350 * mean / sd)
    assert np.isnan(daily_series(np.zeros(8), np.zeros(8, dtype=bool))["monotony"]).all()


def test_run_streak_from_mask_or_indices() -> None:
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    load = np.ones(8)
    assert daily_series(load, mask)["run_streak"].tolist() == [1, 2, 0, 1, 2, 3, 0, 1]
    assert daily_series(load, np.array([0, 1, 3, 4, 5, 7]))["run_streak"].tolist() == [1, 2, 0, 1, 2, 3, 0, 1]
    with pytest.raises(ValueError):
        daily_series(load, mask[:5])


def test_custom_windows() -> None:
    p = DailyParams(acute_days=3, chronic_days=6, ctl_days=10.0, atl_days=2.0)
    load = np.array([10.0, 20.0, 0.0, 40.0, 0.0, 30.0, 60.0])
    got = daily_series(load, load > 0, p)
    assert np.isnan(got["acwr"][:5]).all()
    assert got["acwr"][5] == pytest.approx(((40 + 0 + 30) / 3) / (100 / 6))
    assert got["acwr_uncoupled"][6] == pytest.approx(((0 + 30 + 60) / 3) / ((20 + 0 + 40) / 3))
    assert got["ctl"][0] == pytest.approx(10 * (1 - math.exp(-1 / 10)))


def test_daily_load_sums_per_day() -> None:
    got = daily_load(np.array([0, 2, 2, 4]), np.array([10.0, 5.0, 7.5, np.nan]), 6)
    assert got.tolist() == [10.0, 0.0, 12.5, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        daily_load(np.array([0, 6]), np.array([1.0, 1.0]), 6)
    with pytest.raises(ValueError):
        daily_load(np.array([-1]), np.array([1.0]), 6)
