"""Banister TRIMP, HR coverage and observed HRmax against hand arithmetic."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.hr import hr_max_from_samples
from analysis.trimp import banister_trimp, hr_coverage


def _w(hr: float, rest: float, mx: float, a: float, b: float) -> float:
    x = min(max((hr - rest) / (mx - rest), 0.0), 1.0)
    return x * a * math.exp(b * x)


def test_three_samples_male_by_hand() -> None:
    # Backward dt: sample 0 carries no time, samples 1 and 2 half a minute each
    # (30 s is exactly the gap cap, so nothing is cut).
    t = [0.0, 30.0, 60.0]
    hr = [120.0, 150.0, 170.0]
    expected = 0.5 * (90 / 130) * 0.64 * math.exp(1.92 * 90 / 130) + 0.5 * (110 / 130) * 0.64 * math.exp(1.92 * 110 / 130)
    got = banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male")
    assert got == pytest.approx(expected, rel=1e-12)
    # On paper: 0.44308 * e^1.32923 = 1.6739; 0.54154 * e^1.62462 = 2.7491; half of the sum.
    assert got == pytest.approx(2.2115, abs=1e-3)
    # 60 s samples: each interval is capped to 30 s, so the same answer.
    assert banister_trimp([0.0, 60.0, 120.0], hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male") == pytest.approx(expected)


def test_female_constants_and_overrides() -> None:
    t = [0.0, 60.0, 120.0]
    hr = [120.0, 150.0, 170.0]
    # max_gap_s=60 below, so each interval is one full minute
    expected = (90 / 130) * 0.86 * math.exp(1.67 * 90 / 130) + (110 / 130) * 0.86 * math.exp(1.67 * 110 / 130)
    assert banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="female", max_gap_s=60) == pytest.approx(expected, rel=1e-12)
    assert banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="F", max_gap_s=60) == pytest.approx(expected, rel=1e-12)
    custom = banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male", coefficients=(1.0, 0.0), max_gap_s=60)
    assert custom == pytest.approx(90 / 130 + 110 / 130, rel=1e-12)


def test_gaps_are_capped_clamped_and_unmoving_samples_skipped() -> None:
    t = [0.0, 10.0, 100.0, 110.0, 120.0]
    hr = [150.0, 150.0, 150.0, 250.0, 40.0]  # 250 is an artefact (invalid), 40 is below rest
    w = _w(150, 60, 190, 0.64, 1.92)
    # dt = [0, 10, 90 -> 30, 10, 10] s; the invalid and the below-rest samples add nothing.
    expected = (10 + 30) / 60 * w
    assert banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male") == pytest.approx(expected, rel=1e-12)
    moving = [True, False, True, True, True]
    assert banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male", moving=moving) == pytest.approx(
        30 / 60 * w, rel=1e-12
    )
    longer_cap = banister_trimp(t, hr, hr_rest_bpm=60, hr_max_bpm=190, sex="male", max_gap_s=60)
    assert longer_cap == pytest.approx((10 + 60) / 60 * w, rel=1e-12)


def test_hr_above_max_counts_as_max() -> None:
    t = [0.0, 30.0]
    assert banister_trimp(t, [0, 200.0], hr_rest_bpm=60, hr_max_bpm=190, sex="male") == pytest.approx(0.5 *
        0.64 * math.exp(1.92), rel=1e-12
    )


def test_bad_anchors_and_sex_are_rejected() -> None:
    with pytest.raises(ValueError):
        banister_trimp([0, 1], [100, 100], hr_rest_bpm=60, hr_max_bpm=60, sex="male")
    with pytest.raises(ValueError):
        banister_trimp([0, 1], [100, 100], hr_rest_bpm=60, hr_max_bpm=190, sex="x")


def test_hr_coverage_is_a_fraction_of_moving_time() -> None:
    t = np.arange(11.0)  # ten one-second intervals
    hr = np.full(11, 140.0)
    hr[[2, 3, 4]] = np.nan
    assert hr_coverage(t, hr) == pytest.approx(7 / 10)
    moving = np.ones(11, dtype=bool)
    moving[[2, 3, 9, 10]] = False  # 6 moving intervals, one of them (4) without HR
    assert hr_coverage(t, hr, moving=moving) == pytest.approx(5 / 6)
    assert hr_coverage(t, np.full(11, np.nan)) == 0.0
    assert hr_coverage([0.0], [150.0]) == 0.0


def test_hr_max_percentile_ignores_artefacts() -> None:
    hr = np.linspace(100.0, 199.9, 1000)  # step 0.1 bpm
    noisy = np.concatenate([hr, [0.0, 255.0, np.nan]])
    # numpy linear percentile: position 0.995 * 999 = 994.005 -> 100 + 0.1 * 994.005
    assert hr_max_from_samples(noisy) == pytest.approx(199.4005, abs=1e-9)
    assert hr_max_from_samples(noisy, 100.0) == pytest.approx(199.9)
    assert hr_max_from_samples(hr[:599]) is None
    assert hr_max_from_samples(hr[:50], min_samples=50) is not None
