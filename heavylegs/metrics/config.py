"""The analysis settings of one athlete, resolved once per recompute.

The settings hash decides between an incremental and a full recompute. It has
two parts, ``<streams>:<series>``. A change to what is read from the streams
(run parameters, TRIMP constants, the athlete's settings, ``ANALYSIS_VERSION``)
re-analyses every activity (~3 ms each); a change only to what is derived from
the stored per-activity results (sports counted, window lengths, baseline and
load-model sizes, how HR anchors are derived) rebuilds those in well under a
second. A changed HR anchor re-analyses everything either way (see recompute).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from analysis.daily import DailyParams
from analysis.gap import GAP_MODELS
from analysis.runs import RunParams
from heavylegs.settings import ConfigError, Settings
from ingest.model import RUNNING_SPORTS

# 2: steadiness also looks for short reps
# 3: empirical GAP model by default (was Minetti), terrain-robust fade/decoupling (flat-only check),
#    interval sessions from the file's laps and from a rep block between warm-up and cool-down.
ANALYSIS_VERSION = 3

# The load model is fitted on runs; a ride's speed says nothing about its
# cost, so only activities on foot get an estimated load when HR is missing.
ESTIMABLE_SPORTS = RUNNING_SPORTS | {"walking", "hiking"}

# Keys of [athlete] that do not change any number (the default athlete's
# name; the time zone only moves "today", which the last_day check covers).
_NON_ANALYSIS_ATHLETE_KEYS = frozenset({"default", "timezone"})

DEFAULT_HR_MAX_BPM = 190.0

# [analysis] keys that never change a per-activity number read from streams.
SERIES_ONLY_KEYS = frozenset({
    "sports", "acute_days", "chronic_days", "ctl_days", "atl_days", "baseline_runs", "baseline_min_runs", "estimate_min_hr_runs",
    "hr_rest_default_bpm", "hr_max_percentile", "hr_max_window_days",
})


@dataclass(frozen=True)
class AnalysisConfig:
    sports: frozenset[str] | None  # None: every sport counts toward daily load
    sex: str
    hr_rest_bpm: float | None  # configured value, or None
    hr_max_bpm: float | None
    hr_rest_default_bpm: float
    hr_max_percentile: float
    hr_max_window_days: int
    hr_coverage_for_trimp: float
    trimp_max_gap_s: float
    baseline_runs: int
    baseline_min_runs: int
    estimate_min_hr_runs: int
    run_params: RunParams
    daily_params: DailyParams
    settings_hash: str

    @property
    def hr_max_label(self) -> str:
        """Where a derived HRmax comes from, as stored in analysis_state.hr_max_source."""
        return f"p{self.hr_max_percentile:g}-{self.hr_max_window_days}d"

    def counts(self, sport: str) -> bool:
        return self.sports is None or sport in self.sports


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:31]  # two parts and a colon fit the 64-character column


def settings_hash(analysis: dict[str, Any], athlete: dict[str, Any]) -> str:
    """``<streams part>:<series part>``; see the module docstring."""
    relevant = {k: v for k, v in athlete.items() if k not in _NON_ANALYSIS_ATHLETE_KEYS}
    streams = {k: v for k, v in analysis.items() if k not in SERIES_ONLY_KEYS}
    series = {k: v for k, v in analysis.items() if k in SERIES_ONLY_KEYS}
    return f"{_digest({'v': ANALYSIS_VERSION, 'analysis': streams, 'athlete': relevant})}:{_digest(series)}"


def streams_part(settings_hash_value: str | None) -> str:
    """The part of a settings hash whose change means every activity is analysed again."""
    return (settings_hash_value or "").split(":", 1)[0]


def _opt_float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def analysis_config(settings: Settings, athlete_name: str) -> AnalysisConfig:
    a = settings.section("analysis")
    ath = settings.athlete(athlete_name)
    sex = str(ath.get("sex", "male")).lower()
    if sex not in ("male", "female"):
        raise ConfigError(f"athlete {athlete_name}: sex must be 'male' or 'female', not {sex!r}")
    sports = a.get("sports") or []
    run = RunParams(
        min_distance_m=float(a.get("min_run_m", 5000)),
        min_moving_s=float(a.get("min_run_moving_s", 1200)),
        pause_speed_mps=float(a.get("pause_speed_mps", 0.5)),
        gap_smoothing_m=float(a.get("gap_smoothing_m", 10)),
        gap_max_grade=float(a.get("gap_max_grade", 0.45)),
        early_from=float(a.get("early_from", 0.10)),
        early_to=float(a.get("early_to", 0.60)),
        late_from=float(a.get("late_from", 0.75)),
        decoupling_warmup_s=float(a.get("decoupling_warmup_s", 600)),
        decoupling_min_hr_coverage=float(a.get("decoupling_min_hr_coverage", 0.9)),
        steady_max_cv=float(a.get("steady_max_cv", 0.10)),
        steady_split_m=float(a.get("steady_split_m", 1000)),
        steady_short_split_m=float(a.get("steady_short_split_m", 200)),
        steady_reps_ratio=float(a.get("steady_reps_ratio", 1.3)),
        max_gap_s=float(a.get("trimp_max_gap_s", 30)),
        gap_model=str(a.get("gap_model", "empirical")),
        gap_band=float(a.get("gap_band", 0.5)),
        flat_max_grade=float(a.get("flat_max_grade", 0.02)),
        flat_min_share=float(a.get("flat_min_share", 0.2)),
    )
    if run.gap_model not in GAP_MODELS:
        raise ConfigError(f"analysis.gap_model must be one of {', '.join(GAP_MODELS)}, not {run.gap_model!r}")
    daily = DailyParams(
        acute_days=int(a.get("acute_days", 7)),
        chronic_days=int(a.get("chronic_days", 28)),
        ctl_days=float(a.get("ctl_days", 42)),
        atl_days=float(a.get("atl_days", 7)),
    )
    return AnalysisConfig(
        sports=frozenset(str(s) for s in sports) if sports else None,
        sex=sex,
        hr_rest_bpm=_opt_float(ath.get("hr_rest_bpm")),
        hr_max_bpm=_opt_float(ath.get("hr_max_bpm")),
        hr_rest_default_bpm=float(a.get("hr_rest_default_bpm", 60)),
        hr_max_percentile=float(a.get("hr_max_percentile", 99.5)),
        hr_max_window_days=int(a.get("hr_max_window_days", 365)),
        hr_coverage_for_trimp=float(a.get("hr_coverage_for_trimp", 0.8)),
        trimp_max_gap_s=float(a.get("trimp_max_gap_s", 30)),
        baseline_runs=int(a.get("baseline_runs", 10)),
        baseline_min_runs=int(a.get("baseline_min_runs", 3)),
        estimate_min_hr_runs=int(a.get("estimate_min_hr_runs", 5)),
        run_params=run,
        daily_params=daily,
        settings_hash=settings_hash(a, ath),
    )


def athlete_today(settings: Settings, athlete_name: str, now: datetime | None = None) -> date:
    """The athlete's current local date (``timezone`` of [athlete] / [athletes.<name>])."""
    tz = settings.athlete_zone(athlete_name)
    return (now or datetime.now(tz)).astimezone(tz).date()
