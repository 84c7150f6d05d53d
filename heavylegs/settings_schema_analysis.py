"""``[analysis]`` of ``config/default.toml``: the one place the analysis defaults live.

``analysis.runs.RunParams`` and ``analysis.daily.DailyParams`` are built from this
section (``run_params()``, ``daily_params()``), so their defaults need not be
repeated in the service layer.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from analysis.daily import DailyParams
from analysis.gap import GAP_MODELS
from analysis.runs import RunParams
from heavylegs.settings_schema_base import Section


def _known_gap_model(name: str) -> str:
    if name not in GAP_MODELS:
        raise ValueError(f"must be one of {', '.join(GAP_MODELS)}, not {name!r}")
    return name


class AnalysisSection(Section):
    sports: tuple[str, ...] = Field((), description="Sports whose load counts towards the daily series; empty = every activity with a load.")
    trimp_max_gap_s: float = Field(30, description="Heart-rate gaps longer than this (seconds) add no TRIMP.")
    hr_coverage_for_trimp: float = Field(0.8, description="Share of the moving time with heart rate needed for a measured TRIMP; below it the load is estimated.")
    hr_rest_default_bpm: float = Field(60, description="Resting heart rate used when the athlete sets none (bpm).")
    hr_max_percentile: float = Field(99.5, description="HRmax, when the athlete sets none, is this percentile of recorded heart rates...")
    hr_max_window_days: int = Field(365, description="...over the last this many days.")
    acute_days: int = Field(7, description="Window of the acute (short-term) load, days.")
    chronic_days: int = Field(28, description="Window of the chronic (long-term) load, days.")
    ctl_days: float = Field(42, description="Time constant of the chronic training load (fitness), days.")
    atl_days: float = Field(7, description="Time constant of the acute training load (fatigue), days.")
    min_run_m: float = Field(5000, description="Runs shorter than this (metres) get no run metrics (fade, decoupling).")
    min_run_moving_s: float = Field(1200, description="Runs with less moving time than this (seconds) get no run metrics.")
    pause_speed_mps: float = Field(0.5, description="Below this speed (m/s) the runner counts as paused.")
    gap_smoothing_m: float = Field(10, description="Distance over which elevation is smoothed before the grade is taken (metres).")
    gap_max_grade: float = Field(0.45, description="Grades are clipped to +- this (fraction) for grade-adjusted pace.")
    early_from: float = Field(0.10, description="The early part of a run starts at this fraction of its distance...")
    early_to: float = Field(0.60, description="...and ends at this fraction.")
    late_from: float = Field(0.75, description="The late part of a run starts at this fraction of its distance.")
    decoupling_warmup_s: float = Field(600, description="Seconds at the start left out of decoupling (warm-up).")
    decoupling_min_hr_coverage: float = Field(0.9, description="Share of samples with heart rate needed for decoupling.")
    steady_max_cv: float = Field(0.10, description="A run is steady when the coefficient of variation of its split paces is at most this.")
    steady_split_m: float = Field(1000, description="Split length for the steadiness CV (metres).")
    steady_short_split_m: float = Field(200, description="Short splits in which short reps show as a fast and a slow group (metres).")
    steady_reps_ratio: float = Field(1.3, description="...when the fast group is at least this much faster.")
    baseline_runs: int = Field(10, description="Recent comparable runs forming the runner's baseline.")
    baseline_min_runs: int = Field(3, description="Earlier comparable runs needed before a personal fade baseline exists.")
    gap_model: Annotated[str, AfterValidator(_known_gap_model)] = Field("empirical", description='Grade model of grade-adjusted pace: "empirical" (Strava 2017-style pacing, default) or "minetti" (metabolic cost).')
    flat_max_grade: float = Field(0.02, description="|grade| counted as flat for the terrain check of fade and decoupling.")
    flat_min_share: float = Field(0.2, description="The flat check is used when flat running is at least this share of both compared parts.")
    gap_band: float = Field(0.5, description="Fade and decoupling must hold for the empirical pacing curve with its linear term 2.0 -+ this; 0 = off.")
    estimate_min_hr_runs: int = Field(5, description="Runs with heart rate needed before loads of runs without it are estimated.")

    def run_params(self) -> RunParams:
        """``RunParams`` from this section (three of its field names differ from our keys)."""
        return RunParams(
            min_distance_m=self.min_run_m, min_moving_s=self.min_run_moving_s, pause_speed_mps=self.pause_speed_mps,
            gap_smoothing_m=self.gap_smoothing_m, gap_max_grade=self.gap_max_grade, early_from=self.early_from,
            early_to=self.early_to, late_from=self.late_from, decoupling_warmup_s=self.decoupling_warmup_s,
            decoupling_min_hr_coverage=self.decoupling_min_hr_coverage, steady_max_cv=self.steady_max_cv,
            steady_split_m=self.steady_split_m, steady_short_split_m=self.steady_short_split_m,
            steady_reps_ratio=self.steady_reps_ratio, max_gap_s=self.trimp_max_gap_s, gap_model=self.gap_model,
            flat_max_grade=self.flat_max_grade, flat_min_share=self.flat_min_share, gap_band=self.gap_band,
        )

    def daily_params(self) -> DailyParams:
        """``DailyParams`` from this section (same field names)."""
        return DailyParams(acute_days=self.acute_days, chronic_days=self.chronic_days, ctl_days=self.ctl_days, atl_days=self.atl_days)
