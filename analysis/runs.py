"""Per-run metrics: grade-adjusted pace, late-run fade, Pa:HR decoupling, cadence drop, steadiness."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis._runsteps import (
    Steps,
    band_steps,
    build_steps,
    by_distance,
    by_time,
    enough_flat,
    fade_pct,
    flat_weights,
    gap_speed,
    mean_hr,
    median_cadence,
    smallest,
    split_speeds,
    split_speeds_interp,
)
from analysis._util import as_f64
from analysis.hr import valid_hr
from analysis.intervals import BLOCK_MIN_RATIO, REPS_MIN_EXPLAINED, REPS_MIN_SHARE, has_rep_block, has_reps
from analysis.trimp import hr_coverage


@dataclass(frozen=True)
class RunParams:
    """Thresholds for ``run_metrics``; each maps to the ``[analysis]`` config key noted."""

    min_distance_m: float = 5000.0  # min_run_m
    min_moving_s: float = 1200.0  # min_run_moving_s
    pause_speed_mps: float = 0.5  # pause_speed_mps
    gap_smoothing_m: float = 10.0  # gap_smoothing_m
    gap_max_grade: float = 0.45  # gap_max_grade
    early_from: float = 0.10  # early_from (fraction of moving distance)
    early_to: float = 0.60  # early_to
    late_from: float = 0.75  # late_from
    decoupling_warmup_s: float = 600.0  # decoupling_warmup_s
    decoupling_min_hr_coverage: float = 0.9  # decoupling_min_hr_coverage
    steady_max_cv: float = 0.10  # steady_max_cv
    max_gap_s: float = 30.0  # trimp_max_gap_s
    steady_split_m: float = 1000.0  # steady_split_m (1 km per the definition)
    steady_short_split_m: float = 200.0  # steady_short_split_m
    steady_reps_ratio: float = 1.3  # steady_reps_ratio
    gap_model: str = "empirical"  # gap_model ("empirical" | "minetti")
    flat_max_grade: float = 0.02  # flat_max_grade: |grade| counted as flat for the terrain check
    flat_min_share: float = 0.2  # flat_min_share: flat share of a stretch's moving time needed for it
    gap_band: float = 0.5  # gap_band: +- on the empirical curve's linear coefficient (0 = off)


@dataclass(frozen=True)
class RunMetrics:
    distance_m: float  # moving distance
    moving_s: float
    gap_speed_mps: float  # 0.0 without moving time
    fade_pct: float | None  # None when a stretch has no moving time
    decoupling_pct: float | None  # None when HR coverage < decoupling_min_hr_coverage
    cadence_drop_pct: float | None  # None without cadence
    steady: bool
    hr_coverage: float
    qualifies: bool
    early_range_m: tuple[float, float]
    late_range_m: tuple[float, float]
    steady_cv: float | None = None  # CV of the early 1-km GAP speeds (None with < 2 splits)
    reps: bool = False  # the early 200-m splits fall into a fast and a slow group (short reps)
    fade_gap_pct: float | None = None  # fade on grade-adjusted pace alone
    fade_flat_pct: float | None = None  # fade on the near-flat steps alone (None: too little flat)
    fade_band_pct: float | None = None  # smallest fade over the band of pacing curves (None: no band)
    decoupling_gap_pct: float | None = None
    decoupling_flat_pct: float | None = None
    structure: str = "steady"  # "steady" | "uneven" | "reps" | "intervals" | "workout" (see run_metrics)


def run_metrics(
    time_s: Any,
    distance_m: Any,
    *,
    speed_mps: Any = None,
    altitude_m: Any = None,
    hr_bpm: Any = None,
    cadence_spm: Any = None,
    treadmill: bool = False,
    params: RunParams = RunParams(),
    laps_structure: str | None = None,
) -> RunMetrics:
    """Metrics of one run (running, trail running, treadmill).

    Samples follow the backward convention (each sample ends the interval
    since the previous one). Moving steps: ``moving.moving_mask`` (speed >=
    0.5 m/s, time step <= 30 s); everything below counts moving steps only, and
    positions are along the cumulative *moving* distance D (total = distance_m).

    - GAP: each step's distance * F(grade), F = ``gap.grade_factor`` of
      ``params.gap_model``: by default the empirical pace factor
      1 + 2.0 i + 18.75 i^2 (Strava's heart-rate GAP, Robb 2017); "minetti"
      = Cr(i)/3.6 (Minetti et al. 2002). Treadmill runs (``treadmill=True``)
      and runs without altitude get no correction.
    - gap_speed_mps = total grade-adjusted distance / moving time.
    - fade_gap_pct = 100 * (1 - v_late / v_early), v = GAP distance / moving
      time over a stretch; early = D in [0.10, 0.60) of the total, late =
      [0.75, 1]. Positive = slower at the end. ``early_range_m``/
      ``late_range_m`` give the stretches in metres of moving distance.
    - fade_flat_pct: the same over the near-flat steps only (|grade| <= 0.02,
      ``flat_max_grade``), when they hold >= 20 % (``flat_min_share``) of the
      moving time of both stretches; else None.
    - fade_band_pct: the smaller fade_gap_pct under the empirical curve with
      linear coefficient 2.0 - ``gap_band`` and 2.0 + ``gap_band`` (default
      0.5: 5-7 % faster at -4 %, 9-13 % slower at +4 %), the range in which
      runners pace slopes differently (empirical model only).
    - fade_pct = min(fade_gap_pct, fade_flat_pct, fade_band_pct) over the
      readings that exist. A runner whose legs fade slows on the flat too and
      under every plausible pacing curve; a run that slows only where the
      grade model misjudges this runner (a steep final climb, a cautious
      descent) does not, so the smallest reading is the terrain-robust one.
    - decoupling_gap_pct (Friel's Pa:HR, The Triathlete's/Cyclist's Training
      Bible): the moving time after the first 600 s is cut into two equal
      halves; EF = v_GAP / mean HR per half (time-weighted, valid HR only);
      decoupling = 100 * (EF1 - EF2) / EF1. Positive = HR drifted up relative
      to pace. Only when HR covers >= 90 % of moving time.
      decoupling_flat_pct: the same on near-flat steps (same rule as the fade);
      decoupling_pct = min of decoupling_gap_pct, decoupling_flat_pct and the
      two band curves' values, over those that exist.
    - cadence_drop_pct = 100 * (1 - median_late / median_early), time-weighted
      medians of positive cadence over the early/late stretches.
    - steady: coefficient of variation (population SD / mean) of the GAP speed
      of each whole 1-km split of the early stretch < 0.10; needs >= 2 splits.
      Reps of ~500 m or less with equal recoveries average out inside 1-km
      splits, so the run must also not show *reps* in its early 200-m splits:
      split into two groups at the threshold that maximises the between-group
      variance (Otsu 1979, IEEE Trans SMC 9:62), reps are when that threshold
      explains >= 80 % of the variance, the smaller group holds >= 20 % of the
      splits and the fast group is >= 1.3x the slow one. GPS noise, hills
      and smart recording scatter speeds without such a split (the corpus's
      real runs explain <= 78 %); a CV cannot tell the two apart.
      A session with a warm-up and a cool-down hides its reps from that test,
      so the 100-m splits (half ``steady_short_split_m``) of the whole run are
      also searched for a block of >= 3 reps between slow ends, fast group
      >= 1.2x the slow one (``intervals.has_rep_block``, BLOCK_MIN_RATIO).
    - structure: "workout"/"intervals" from the file's laps
      (``laps_structure``, see ``intervals.lap_structure``) win; else "reps"
      (either reps test), "uneven" (CV >= limit or < 2 splits) or "steady".
      steady = structure == "steady".
    - qualifies: moving distance >= 5000 m and moving time >= 1200 s.
    """
    p = params
    t = as_f64(time_s)
    if t.shape[0] < 2:
        return RunMetrics(0.0, 0.0, 0.0, None, None, None, False, 0.0, False, (0.0, 0.0), (0.0, 0.0))
    s = build_steps(
        t, distance_m, speed_mps, altitude_m, treadmill=treadmill, pause_speed_mps=p.pause_speed_mps,
        max_gap_s=p.max_gap_s, smoothing_m=p.gap_smoothing_m, max_grade=p.gap_max_grade, model=p.gap_model,
    )
    total_m = float(s.cum_dist_m[-1])
    moving_s = float(s.cum_time_s[-1])
    whole = gap_speed(s, np.ones_like(s.time_s))
    early = (p.early_from * total_m, p.early_to * total_m)
    late = (p.late_from * total_m, total_m)
    early_frac = by_distance(s, *early)
    late_frac = by_distance(s, late[0], np.inf)  # inf keeps the final sample's step
    fade_gap = fade_pct(s, early_frac, late_frac)
    fade_flat = None
    flat_e, flat_l = flat_weights(s, early_frac, p.flat_max_grade), flat_weights(s, late_frac, p.flat_max_grade)
    if flat_e is not None and flat_l is not None and _enough(s, flat_e, early_frac, p) and _enough(s, flat_l, late_frac, p):
        fade_flat = fade_pct(s, flat_e, flat_l)
    band = band_steps(s, p.gap_model, p.gap_band)
    fade_band = smallest(*[fade_pct(b, early_frac, late_frac) for b in band]) if band else None
    fade = smallest(fade_gap, fade_flat, fade_band)

    cv = _split_cv(s, early, p.steady_split_m)
    reps = has_reps(split_speeds(s, early[0], early[1], p.steady_short_split_m), p.steady_reps_ratio)
    reps = reps or has_rep_block(split_speeds_interp(s, 0.5 * p.steady_short_split_m), BLOCK_MIN_RATIO)
    coverage = 0.0
    dec_gap = dec_flat = None
    dec_band: list[float | None] = []
    if hr_bpm is not None:
        hr = as_f64(hr_bpm)
        coverage = hr_coverage(t, hr, moving=s.moving, max_gap_s=p.max_gap_s)
        if coverage >= p.decoupling_min_hr_coverage:
            halves = _halves(s, p.decoupling_warmup_s, moving_s)
            valid = valid_hr(hr)
            dec_gap = _decoupling(s, hr, valid, halves, None)
            dec_flat = _decoupling(s, hr, valid, halves, p)
            dec_band = [_decoupling(b, hr, valid, halves, None) for b in band]
    decoupling = smallest(dec_gap, dec_flat, *dec_band)
    cadence_drop = None
    if cadence_spm is not None:
        cad = as_f64(cadence_spm)
        c_early = median_cadence(s, early_frac, cad)
        c_late = median_cadence(s, late_frac, cad)
        if c_early and c_late is not None:
            cadence_drop = 100.0 * (1.0 - c_late / c_early)
    if laps_structure in ("intervals", "workout"):
        structure = laps_structure
    elif reps:
        structure = "reps"
    elif cv is None or cv >= p.steady_max_cv:
        structure = "uneven"
    else:
        structure = "steady"
    return RunMetrics(
        distance_m=total_m,
        moving_s=moving_s,
        gap_speed_mps=whole or 0.0,
        fade_pct=fade,
        decoupling_pct=decoupling,
        cadence_drop_pct=cadence_drop,
        steady=structure == "steady",
        hr_coverage=coverage,
        qualifies=total_m >= p.min_distance_m and moving_s >= p.min_moving_s,
        early_range_m=early,
        late_range_m=late,
        steady_cv=cv,
        reps=reps,
        fade_gap_pct=fade_gap,
        fade_flat_pct=fade_flat,
        fade_band_pct=fade_band,
        decoupling_gap_pct=dec_gap,
        decoupling_flat_pct=dec_flat,
        structure=structure,
    )


__all__ = ["REPS_MIN_EXPLAINED", "REPS_MIN_SHARE", "RunMetrics", "RunParams", "has_reps", "run_metrics"]


def _enough(s: Steps, flat: np.ndarray, whole: np.ndarray, p: RunParams) -> bool:
    return enough_flat(s, flat, whole, p.flat_min_share)


def _split_cv(s: Steps, stretch: tuple[float, float], split_m: float) -> float | None:
    """Population CV of the GAP speeds of the whole ``split_m`` splits of a stretch (None with < 2)."""
    splits = split_speeds(s, stretch[0], stretch[1], split_m)
    if splits.shape[0] >= 2 and np.isfinite(splits).all() and splits.mean() > 0:
        return float(splits.std() / splits.mean())
    return None


def _halves(s: Steps, warmup_s: float, moving_s: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Step weights of the two halves of the moving time after the warm-up (None: no time after it).

    The band variants of ``s`` share its time axis, so the halves are computed once per run.
    """
    if moving_s <= warmup_s:
        return None
    mid = 0.5 * (warmup_s + moving_s)
    return by_time(s, warmup_s, mid), by_time(s, mid, np.inf)


def _decoupling(s: Steps, hr: np.ndarray, valid: np.ndarray, halves: tuple[np.ndarray, np.ndarray] | None,
                flat: RunParams | None) -> float | None:
    """Pa:HR decoupling over all moving steps, or (``flat`` given) over its near-flat steps only."""
    if halves is None:
        return None
    efs = []
    for frac in halves:
        if flat is not None:
            f = flat_weights(s, frac, flat.flat_max_grade)
            if f is None or not _enough(s, f, frac, flat):
                return None
            frac = f
        v = gap_speed(s, frac)
        h = mean_hr(s, frac, hr, valid)
        if not v or not h:
            return None
        efs.append(v / h)
    return 100.0 * (efs[0] - efs[1]) / efs[0]
