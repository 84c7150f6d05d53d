"""Estimated load for runs without heart rate, and the fade baseline."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.baseline import fade_vs_baseline
from analysis.estimate import LoadModel, estimate_load, fallback_load_model, fit_load_model


def test_fallback_curve_from_banister_anchors() -> None:
    # 10 km/h at 65 % HRR and 14 km/h at 88 % HRR, Banister male weighting per minute.
    f1 = 0.65 * 0.64 * math.exp(1.92 * 0.65)
    f2 = 0.88 * 0.64 * math.exp(1.92 * 0.88)
    assert f1 == pytest.approx(1.449, abs=1e-3) and f2 == pytest.approx(3.051, abs=1e-3)
    k = math.log(f2 / f1) / math.log(1.4)  # v2/v1 = 14/10
    m = fallback_load_model()
    assert m.method == "fallback"
    assert m.exponent == pytest.approx(k, rel=1e-12)
    assert m.exponent == pytest.approx(2.21, abs=0.01)
    assert m.coef == pytest.approx(f1 / (10 / 3.6) ** k, rel=1e-12)
    assert m.coef == pytest.approx(0.151, abs=0.002)
    # Both anchors lie on the curve.
    assert estimate_load(60.0, 14 / 3.6, m) == pytest.approx(f2, rel=1e-12)
    assert fallback_load_model("female").coef != m.coef


def test_regression_recovers_a_known_power_law() -> None:
    moving_s = np.array([1800.0, 2400, 3600, 3000, 5400, 1500])
    v = np.array([2.5, 2.8, 3.0, 3.3, 2.7, 3.8])
    trimp = moving_s / 60 * 0.2 * v**1.8
    m = fit_load_model(moving_s, v, trimp)
    assert m.method == "regression"
    assert m.coef == pytest.approx(0.2, rel=1e-9) and m.exponent == pytest.approx(1.8, rel=1e-9)
    # 45 min at 3 m/s: 45 * 0.2 * 3^1.8
    assert estimate_load(2700.0, 3.0, m) == pytest.approx(45 * 0.2 * 3**1.8, rel=1e-9)


def test_too_few_runs_or_bad_rows_fall_back() -> None:
    moving_s = np.array([1800.0, 2400, 3600, 3000, np.nan, 0.0])
    v = np.array([2.5, 2.8, 3.0, 3.3, 2.9, 3.0])
    trimp = np.array([40.0, 55, 90, 80, 60, 10])
    assert fit_load_model(moving_s, v, trimp).method == "fallback"  # 4 usable rows < 5
    assert fit_load_model(moving_s, v, trimp, min_runs=4).method == "regression"


def test_exponent_is_clamped_and_refitted() -> None:
    moving_s = np.full(5, 3600.0)
    v = np.array([2.0, 2.5, 3.0, 3.5, 4.0])
    trimp = 60 * 5.0 / v  # TRIMP/min falling with speed: k = -1, clamped to 0
    m = fit_load_model(moving_s, v, trimp)
    assert m.exponent == 0.0
    assert m.coef == pytest.approx(math.exp(np.mean(np.log(5.0 / v))), rel=1e-12)
    same_speed = fit_load_model(moving_s, np.full(5, 3.0), np.full(5, 120.0))
    assert same_speed.exponent == pytest.approx(fallback_load_model().exponent)
    assert same_speed.coef * 3.0**same_speed.exponent == pytest.approx(2.0)  # 120 per 60 min


def test_estimate_edge_cases() -> None:
    m = LoadModel(coef=0.2, exponent=2.0, method="fallback")
    assert estimate_load(0.0, 3.0, m) == 0.0
    assert math.isnan(estimate_load(600.0, math.nan, m))
    assert math.isnan(estimate_load(600.0, 0.0, m))
    assert estimate_load(600.0, 20.0, m) == pytest.approx(10 * 0.2 * 7.0**2)  # capped at 7 m/s


def test_fade_vs_baseline_median_mad_z() -> None:
    prev = np.array([9.0, np.nan, 1.0, 2.0, 3.0, 4.0, 100.0])
    # last 5 finite: 1, 2, 3, 4, 100 -> median 3, |dev| 2, 1, 0, 1, 97 -> MAD 1
    assert fade_vs_baseline(prev, 6.0, n=5) == (3.0, 1.0, 3.0)
    # last 10 (all 6 finite): 1, 2, 3, 4, 9, 100 -> median 3.5; |dev| .5 .5 1.5 2.5 5.5 96.5 -> MAD 2
    assert fade_vs_baseline(prev, 7.5) == (3.5, 2.0, 2.0)
    med, mad, z = fade_vs_baseline(prev, 6.0, n=5, mad_scale=1.4826)
    assert (med, mad) == (3.0, pytest.approx(1.4826)) and z == pytest.approx(3 / 1.4826)
    assert fade_vs_baseline([5.0, 5.0, 5.0], 8.0) == (5.0, 0.0, None)
    assert fade_vs_baseline([], 8.0) == (None, None, None)
    assert fade_vs_baseline([1.0, 2.0], 8.0, min_runs=3) == (None, None, None)
    assert fade_vs_baseline([1.0, 2.0, 4.0], math.nan)[2] is None
