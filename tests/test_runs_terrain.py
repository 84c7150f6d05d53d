"""Terrain alone raises no late_fade or decoupling: the empirical GAP model and the flat-only check."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.gap import empirical_pace_factor, gap_distance_m, grade_factor, minetti_cost
from analysis.runs import RunMetrics, RunParams, run_metrics
from heavylegs.alerts.rules_runs import fade_alerts
from heavylegs.settings import load_settings
from ingest.model import Streams
from tests.runs_synth import minetti_pacing, terrain_run


@pytest.fixture
def fade_cfg(tmp_path: Path) -> dict[str, Any]:
    settings = load_settings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}", environ={})
    return settings.section("alerts.rules.late_fade")


def metrics(s: Streams, params: RunParams = RunParams()) -> RunMetrics:
    return run_metrics(s.time_s, s.distance_m, speed_mps=s.speed_mps, altitude_m=s.altitude_m, hr_bpm=s.hr_bpm, params=params)


def test_empirical_polynomial_by_hand() -> None:
    g = np.array([0.0, 0.04, -0.04, 0.10, -0.10])
    # 1 + 2.0 g + 18.75 g^2: 1; 1 + 0.08 + 0.03; 1 - 0.08 + 0.03; 1 + 0.2 + 0.1875; 1 - 0.2 + 0.1875
    assert empirical_pace_factor(g) == pytest.approx([1.0, 1.11, 0.95, 1.3875, 0.9875], abs=1e-12)
    assert grade_factor(g) == pytest.approx(empirical_pace_factor(g), abs=0)
    assert grade_factor(g, "minetti") == pytest.approx(minetti_cost(g) / 3.6, rel=1e-12)
    # Minetti at -4 %: Cr = 2.897 J/(kg m), 0.805 of the flat, i.e. 24 % faster at equal cost; runners manage ~5 %.
    assert 1 / grade_factor(np.array([-0.04]), "minetti")[0] - 1 == pytest.approx(0.2428, abs=0.001)
    with pytest.raises(ValueError, match="unknown GAP model"):
        grade_factor(g, "strava")
    d = np.arange(0.0, 1001.0)
    assert gap_distance_m(d, -0.04 * d)[-1] == pytest.approx(950.0, rel=1e-9)


@pytest.mark.parametrize("pacing", [None, minetti_pacing], ids=["real-pacing", "slows-by-full-metabolic-cost"])
def test_slowing_only_on_a_steep_final_climb_raises_nothing(pacing: Any, fade_cfg: dict[str, Any]) -> None:
    kw = {} if pacing is None else {"pacing": pacing}
    s = terrain_run([(10500.0, 0.0), (1500.0, 0.08)], **kw)
    m = metrics(s)
    assert m.steady and m.fade_flat_pct is not None
    # The flat part of the last quarter is as fast as the early stretch, whatever the climb did.
    assert m.fade_flat_pct == pytest.approx(0.0, abs=0.5)
    assert m.fade_pct <= 1.0 and not fade_alerts(m.fade_pct, None, None, fade_cfg)
    assert m.decoupling_pct is not None and m.decoupling_pct < 5.0
    if pacing is minetti_pacing:
        assert m.fade_gap_pct > 8.0  # GAP alone under-credits this runner's climb: the flat check saves it


def test_out_and_back_climbing_first_and_finishing_downhill(fade_cfg: dict[str, Any]) -> None:
    profile = [(1000.0, 0.0), (6000.0, 0.04), (6000.0, -0.04), (1000.0, 0.0)]
    s = terrain_run(profile, drift_bpm_h=3.0)
    m = metrics(s)
    assert m.steady
    assert m.fade_gap_pct == pytest.approx(0.0, abs=1.0)
    # The band's other curves read the descent as faster or slower pacing; the smaller reading counts.
    assert m.fade_band_pct is not None and -4.0 < m.fade_pct <= m.fade_gap_pct
    assert not fade_alerts(m.fade_pct, None, None, fade_cfg)
    assert abs(m.decoupling_pct) < 3.0
    # The old metabolic model reads the same run as a big fade and a big drift (why it is no longer the default).
    old = metrics(s, RunParams(gap_model="minetti"))
    assert old.fade_gap_pct > 8.0 and old.decoupling_gap_pct > 10.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolling_route_raises_nothing_but_a_real_fade_shows(seed: int, fade_cfg: dict[str, Any]) -> None:
    rng = np.random.default_rng(seed)
    profile = [(float(rng.uniform(300, 700)), float(g)) for g in np.tile([0.05, -0.05], 12) * rng.uniform(0.6, 1.0)]
    m = metrics(terrain_run(profile, seed=seed))
    assert m.steady and abs(m.fade_pct) < 1.5 and not fade_alerts(m.fade_pct, None, None, fade_cfg)
    faded = metrics(terrain_run(profile, seed=seed, fade_pct=12.0))
    # 12 % slower pace = 1 - 1/1.12 = 10.7 % lower speed, read through the hills.
    assert faded.fade_pct == pytest.approx(100 * (1 - 1 / 1.12), abs=1.0)
    assert fade_alerts(faded.fade_pct, None, None, fade_cfg)


def test_fade_on_the_flat_is_the_smaller_reading() -> None:
    # Flat all along, 10 % slower pace in the last quarter: both readings agree.
    m = metrics(terrain_run([(12000.0, 0.0)], fade_pct=10.0))
    assert m.fade_gap_pct == pytest.approx(100 * (1 - 1 / 1.1), abs=0.3)
    assert m.fade_flat_pct == pytest.approx(m.fade_gap_pct, abs=0.05)
    assert m.fade_band_pct == pytest.approx(m.fade_gap_pct, abs=0.05)  # no slopes: every curve agrees
    assert m.fade_pct == min(m.fade_gap_pct, m.fade_flat_pct, m.fade_band_pct)
    # Treadmill: no altitude, no flat check.
    s = terrain_run([(12000.0, 0.0)])
    tm = run_metrics(s.time_s, s.distance_m, speed_mps=s.speed_mps, treadmill=True)
    assert tm.fade_flat_pct is None and tm.fade_pct == tm.fade_gap_pct


def cautious_pacing(grade: np.ndarray) -> np.ndarray:
    """A runner who gains only 2.4 % at -4 % and loses 10.4 % at +4 % (1 + 1.6 g + 25 g^2)."""
    return 1.0 + 1.6 * grade + 25.0 * grade**2


@pytest.mark.parametrize("fade", [0.0, 4.0])
def test_a_cautious_descender_finishing_downhill_is_not_fading(fade: float, fade_cfg: dict[str, Any]) -> None:
    profile = [(1000.0, 0.0), (6000.0, 0.04), (6000.0, -0.04), (1000.0, 0.0)]
    m = metrics(terrain_run(profile, pacing=cautious_pacing, fade_pct=fade))
    # The population curve alone reads his slow descent as fatigue: 0.95 / 0.976 -> ~2.7 points.
    assert m.fade_gap_pct > fade * 0.9 + 1.5
    # Inside the band (linear term 1.5: 0.97 at -4 %) it nearly vanishes.
    assert m.fade_pct < fade + 1.0 and not fade_alerts(m.fade_pct, 1.5, 1.0, fade_cfg)
    # A real 12 % fade on the same route still shows through the band.
    faded = metrics(terrain_run(profile, pacing=cautious_pacing, fade_pct=12.0))
    assert faded.fade_pct > 7.0 and fade_alerts(faded.fade_pct, 1.5, 1.0, fade_cfg)
