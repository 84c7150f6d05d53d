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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.daily import DailyParams
from analysis.runs import RunParams
from heavylegs.settings_schema import AnalysisSection
from heavylegs.settings_views import Athletes
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
class AnalysisEnv:
    """What the analysis reads: ``[analysis]`` and the athletes, typed, plus the same tables as
    written in the merged TOML, which the stored settings hash is computed from.

    The hash stays on the written tables because hashing the typed values (``30`` read as
    ``30.0``, unset keys as ``None``) would change every store's hash and re-analyse it.
    """

    analysis: AnalysisSection
    athletes: Athletes
    analysis_toml: Mapping[str, Any] = field(repr=False)  # [analysis]
    athlete_toml: Mapping[str, Any] = field(repr=False)  # [athlete]
    athletes_toml: Mapping[str, Any] = field(repr=False)  # [athletes]

    def athlete_hashed(self, name: str) -> dict[str, Any]:
        """``[athlete]`` overridden by ``[athletes.<name>]`` as written: the athlete part of the hash.

        The name is walked as a dotted path, as the hash has always looked it up (``athletes.<name>``),
        so the hash of an athlete whose name holds a dot does not change either.
        """
        node: Any = self.athletes_toml
        for part in name.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        # Athlete tables are flat (the schema refuses sub-tables), so a shallow merge is the deep one.
        return {**self.athlete_toml, **(node if isinstance(node, Mapping) else {})}


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


def analysis_config(env: AnalysisEnv, athlete_name: str) -> AnalysisConfig:
    """The typed ``[analysis]`` section and the athlete's table, as the analysis needs them.

    Types, ``sex`` and ``gap_model`` were checked when the settings were loaded.
    """
    a = env.analysis
    ath = env.athletes.cfg(athlete_name)
    return AnalysisConfig(
        sports=frozenset(a.sports) if a.sports else None,
        sex=ath.sex,
        hr_rest_bpm=_opt_float(ath.hr_rest_bpm),
        hr_max_bpm=_opt_float(ath.hr_max_bpm),
        hr_rest_default_bpm=float(a.hr_rest_default_bpm),
        hr_max_percentile=float(a.hr_max_percentile),
        hr_max_window_days=int(a.hr_max_window_days),
        hr_coverage_for_trimp=float(a.hr_coverage_for_trimp),
        trimp_max_gap_s=float(a.trimp_max_gap_s),
        baseline_runs=int(a.baseline_runs),
        baseline_min_runs=int(a.baseline_min_runs),
        estimate_min_hr_runs=int(a.estimate_min_hr_runs),
        run_params=a.run_params(),
        daily_params=a.daily_params(),
        # Hashed from the tables as written so stores keep their hashes (see AnalysisEnv).
        settings_hash=settings_hash(dict(env.analysis_toml), env.athlete_hashed(athlete_name)),
    )
