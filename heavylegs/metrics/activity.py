"""One activity's metrics: the parts that need its streams.

The load chosen here is TRIMP or nothing; activities without enough heart
rate get their estimated load later (``derived.py``), because the load
model is fitted on all of the athlete's TRIMP runs at once.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from analysis._util import backward_dt
from analysis.intervals import lap_structure
from analysis.moving import moving_mask
from analysis.runs import RunMetrics, run_metrics
from analysis.trimp import banister_trimp, hr_coverage
from heavylegs.metrics.anchors import Anchors, encode_hist, hr_histogram
from heavylegs.metrics.config import AnalysisConfig
from ingest.model import RUNNING_SPORTS, Streams


@dataclass(slots=True)
class ActivityInfo:
    """What the recompute needs of an ``activities`` row.

    The fields after ``parent_id`` are only read for activities being
    analysed (``DETAIL_COLS``, loaded with their streams).
    """

    id: int
    revision: int
    start_ts: float
    local_date: date
    sport: str
    parent_id: int | None
    sub_sport: str | None = None
    elapsed_s: float = 0.0
    timer_s: float | None = None
    moving_s: float | None = None
    distance_m: float | None = None
    laps_json: str | None = None

    @property
    def is_multisport_parent(self) -> bool:
        # The legs carry the load; counting the parent too would double it.
        return self.sport == "multisport" and self.parent_id is None

    @property
    def is_treadmill(self) -> bool:
        return self.sport == "treadmill_running" or self.sub_sport in ("treadmill", "indoor_running", "virtual_activity")


LIST_COLS = ("id", "revision", "start_ts", "local_date", "sport", "parent_id")
DETAIL_COLS = ("sub_sport", "elapsed_s", "timer_s", "moving_s", "distance_m", "laps_json")


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def laps_structure(laps_json: str | None, min_ratio: float = 1.3) -> str | None:
    """``analysis.intervals.lap_structure`` of the stored laps ("intervals", "workout" or None)."""
    try:
        laps = json.loads(laps_json or "[]")
    except ValueError:
        return None
    if not isinstance(laps, list) or not laps:
        return None
    laps = [lap for lap in laps if isinstance(lap, dict)]
    return lap_structure(
        [lap.get("intensity") for lap in laps],
        [_finite(lap.get("distance_m")) if isinstance(lap.get("distance_m"), (int, float)) else None for lap in laps],
        [_finite(lap.get("timer_s")) if isinstance(lap.get("timer_s"), (int, float)) else None for lap in laps],
        min_ratio=min_ratio,
    )


def _run_metrics(info: ActivityInfo, s: Streams, cfg: AnalysisConfig) -> RunMetrics | None:
    # Without distance, run_metrics integrates speed (a treadmill file may carry only speed).
    if not any(x is not None and np.isfinite(x).any() for x in (s.distance_m, s.speed_mps)):
        return None
    return run_metrics(
        s.time_s,
        s.distance_m,
        speed_mps=s.speed_mps,
        altitude_m=s.altitude_m,
        hr_bpm=s.hr_bpm,
        cadence_spm=s.cadence_spm,
        treadmill=info.is_treadmill,
        params=cfg.run_params,
        laps_structure=laps_structure(info.laps_json, cfg.run_params.steady_reps_ratio),
    )


def _summary_only(info: ActivityInfo) -> tuple[float | None, float | None, float | None]:
    moving = _finite(info.moving_s) or _finite(info.timer_s) or _finite(info.elapsed_s)
    dist = _finite(info.distance_m)
    speed = dist / moving if dist and moving else None
    return dist, moving, speed


def analyse_activity(info: ActivityInfo, s: Streams, cfg: AnalysisConfig, anchors: Anchors) -> dict[str, Any]:
    """``activity_metrics`` values for one activity (estimate and baseline filled later)."""
    row: dict[str, Any] = {
        "activity_id": info.id,
        "revision": info.revision,
        "local_date": info.local_date,
        "load": None,
        "load_method": "none",
        "qualifies": False,
        "hr_hist": None,
        "computed_ts": time.time(),
    }
    if info.is_multisport_parent:
        return row
    dist, moving_s, gap = _summary_only(info)
    rm: RunMetrics | None = None
    if len(s) >= 2:
        rm = _run_metrics(info, s, cfg)
        mask = moving_mask(
            s.time_s, s.speed_mps, s.distance_m, pause_speed_mps=cfg.run_params.pause_speed_mps, max_gap_s=cfg.trimp_max_gap_s
        )
        if rm is not None:
            dist, moving_s, gap = _finite(rm.distance_m), _finite(rm.moving_s), _finite(rm.gap_speed_mps)
        else:
            moving_s = float(backward_dt(s.time_s)[mask].sum()) or moving_s
        if s.hr_bpm is not None:
            row["hr_hist"] = encode_hist(hr_histogram(s.hr_bpm))
            cov = hr_coverage(s.time_s, s.hr_bpm, moving=mask, max_gap_s=cfg.trimp_max_gap_s)
            row["hr_coverage"] = cov
            if cov >= cfg.hr_coverage_for_trimp:
                row["load"] = banister_trimp(
                    s.time_s,
                    s.hr_bpm,
                    hr_rest_bpm=anchors.hr_rest_bpm,
                    hr_max_bpm=anchors.hr_max_bpm,
                    sex=cfg.sex,
                    moving=mask,
                    max_gap_s=cfg.trimp_max_gap_s,
                )
                row["load_method"] = "trimp"
    row.update(distance_m=dist, moving_s=moving_s, gap_speed_mps=gap)
    if rm is not None and info.sport in RUNNING_SPORTS and rm.qualifies:
        row.update(
            qualifies=True,
            fade_pct=_finite(rm.fade_pct),
            decoupling_pct=_finite(rm.decoupling_pct),
            cadence_drop_pct=_finite(rm.cadence_drop_pct),
            steady=None if rm.steady is None else bool(rm.steady),
        )
    return row
