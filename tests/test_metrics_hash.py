"""The stored settings hash survives the move from ``Settings`` to ``AnalysisEnv`` (issue 15).

A changed hash re-analyses every store at its next start, so the values below were computed by
``analysis_config(settings, name)`` before the change and are pinned here; a new ``ANALYSIS_VERSION``
or a changed ``[analysis]`` default in config/default.toml changes them on purpose.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from heavylegs.metrics.config import analysis_config, settings_hash
from heavylegs.service.envs import analysis_env
from heavylegs.settings import load_settings

# Integers where the schema has floats (30 read as 30.0), an unset key, a second athlete and
# one whose name holds a dot: every way the typed values differ from the tables as written.
CONFIG = """
[athlete]
hr_max_bpm = 190
timezone = "Europe/Berlin"
[athletes.bob]
hr_rest_bpm = 48
sex = "female"
[athletes."x.y"]
hr_max_bpm = 200
[analysis]
trimp_max_gap_s = 30
sports = ["running", "hiking"]
acute_days = 7
"""

BEFORE = {  # (with CONFIG, athlete) -> the hash before issue 15
    (False, "me"): "a4fd8546bb6bd1f9427a3e516f92bb1:e0b15369bcad17dfd95374c262967ca",
    (False, "bob"): "a4fd8546bb6bd1f9427a3e516f92bb1:e0b15369bcad17dfd95374c262967ca",
    (False, "x.y"): "a4fd8546bb6bd1f9427a3e516f92bb1:e0b15369bcad17dfd95374c262967ca",
    (False, "nobody"): "a4fd8546bb6bd1f9427a3e516f92bb1:e0b15369bcad17dfd95374c262967ca",
    (True, "me"): "411e922e901e6817d46afa840e1d334:9eae8e3659ded86054b4617d313d3f3",
    (True, "bob"): "4839e527025db73924fe12f49dfc844:9eae8e3659ded86054b4617d313d3f3",
    (True, "x.y"): "411e922e901e6817d46afa840e1d334:9eae8e3659ded86054b4617d313d3f3",
    (True, "nobody"): "411e922e901e6817d46afa840e1d334:9eae8e3659ded86054b4617d313d3f3",
}


@pytest.mark.parametrize(("configured", "name"), sorted(BEFORE))
def test_settings_hash_is_the_one_stores_already_hold(tmp_path: Path, configured: bool, name: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    settings = load_settings(config=path if configured else None, data_dir=tmp_path / "data", db="sqlite://", environ={})
    got = analysis_config(analysis_env(settings), name).settings_hash
    assert got == BEFORE[(configured, name)]
    # The same data as the hash was always computed from: the untyped tables of the settings.
    assert got == settings_hash(settings.section("analysis"), settings.athlete(name))
