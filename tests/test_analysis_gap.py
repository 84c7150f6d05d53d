"""Minetti cost, grade smoothing, grade-adjusted distance and the moving mask."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.gap import gap_distance_m, grade_from_altitude, minetti_cost
from analysis.moving import moving_mask


def test_minetti_polynomial_by_hand() -> None:
    i = 0.1
    by_hand = 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6
    assert by_hand == pytest.approx(5.968214, abs=1e-9)  # 0.001554 - 0.00304 - 0.0433 + 0.463 + 1.95 + 3.6
    got = minetti_cost(np.array([0.0, 0.1, -0.1]))
    assert got[0] == pytest.approx(3.6)
    assert got[1] == pytest.approx(by_hand, rel=1e-12)
    i = -0.1
    assert got[2] == pytest.approx(155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6, rel=1e-12)
    assert got[2] < 3.6 < got[1]


def test_constant_slope_and_clamp() -> None:
    d = np.arange(0.0, 200.0, 2.5)
    assert np.allclose(grade_from_altitude(d, 0.05 * d), 0.05)
    assert np.allclose(grade_from_altitude(d, 0.8 * d), 0.45)
    assert np.allclose(grade_from_altitude(d, -0.8 * d, max_grade=0.3), -0.3)


def test_smoothing_flattens_a_one_metre_spike() -> None:
    d = np.arange(0.0, 101.0)  # 1 m steps
    alt = np.zeros_like(d)
    alt[50] = 1.0
    raw = grade_from_altitude(d, alt, smoothing_m=0.0)
    assert raw[50] == pytest.approx(0.45) and raw[51] == pytest.approx(-0.45)  # +-100 % clamped
    smooth = grade_from_altitude(d, alt, smoothing_m=10.0)
    # Over a >= 10 m window a 1 m bump is at most 1/10 and here within 1/11.
    assert np.abs(smooth).max() <= 1 / 10 + 1e-12
    assert np.abs(smooth).max() > 0


def test_missing_altitude_is_interpolated_and_absent_altitude_is_flat() -> None:
    d = np.arange(0.0, 100.0, 1.0)
    alt = 0.1 * d
    alt[[10, 11, 40]] = np.nan
    assert np.allclose(grade_from_altitude(d, alt), 0.1)
    assert np.array_equal(grade_from_altitude(d, np.full_like(d, np.nan)), np.zeros_like(d))


def test_gap_distance_uphill_and_flat() -> None:
    d = np.linspace(1000.0, 1400.0, 161)  # starts mid-run: the result is relative to the first sample
    up = gap_distance_m(d, 0.1 * d, model="minetti")
    assert up[0] == 0.0
    assert up[-1] == pytest.approx(400.0 * minetti_cost(np.array([0.1]))[0] / 3.6, rel=1e-12)
    # The default (empirical) model: 1 + 2.0 * 0.1 + 18.75 * 0.01 = 1.3875 flat metres per metre.
    assert gap_distance_m(d, 0.1 * d)[-1] == pytest.approx(400.0 * 1.3875, rel=1e-12)
    flat = gap_distance_m(d, np.full_like(d, 35.0))
    assert np.allclose(flat, d - d[0])
    assert np.allclose(gap_distance_m(d, None), d - d[0])


def test_moving_mask_pauses_and_gaps() -> None:
    t = np.array([0, 1, 2, 3, 40, 41, 42, 43.0])
    speed = np.array([3, 3, 0.2, 3, 3, np.nan, 3, 0.49])
    got = moving_mask(t, speed)
    # sample 2 is slow, sample 4 ends a 37 s gap, sample 5 has unknown speed (kept), 7 is slow
    assert got.tolist() == [True, True, False, True, False, True, True, False]
    assert moving_mask(t, speed, max_gap_s=60)[4]
    assert not moving_mask(t, speed, pause_speed_mps=3.5)[1]


def test_moving_mask_derives_speed_from_distance() -> None:
    t = np.array([0, 1, 2, 3, 4.0])
    d = np.array([0, 3, 3.2, 6, 9.0])  # 3, 0.2, 2.8, 3 m/s
    assert moving_mask(t, distance_m=d)[1:].tolist() == [True, False, True, True]
    speed = np.array([np.nan, np.nan, 2.0, np.nan, np.nan])  # the speed stream wins where present
    assert moving_mask(t, speed, d)[1:].tolist() == [True, True, True, True]
    assert moving_mask(t).all()  # no speed information: only timer gaps would stop it
