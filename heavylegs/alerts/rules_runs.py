"""Run-based rules over ``activity_metrics``: late_fade, recurring_fade, decoupling.

``runs`` are the athlete's qualifying runs in start order. late_fade is one
alert per run (keyed by activity id); recurring_fade and decoupling are
episodes over consecutive eligible runs, keyed by the run that started them,
so a pattern that persists run after run alerts once.

Each metric is judged against the runner's own normal range (median and MAD
of comparable earlier runs, ``analysis.baseline``) with an absolute floor, so
a stable runner is not alerted for a few percent and a runner whose runs
always drift a little is not alerted for their normal drift. Runs that are
not steady (intervals, warm-up/cool-down sessions, uneven pacing; see
``analysis.runs``) are never judged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from analysis.baseline import MAD_TO_SD
from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.model import Finding, Severity
from heavylegs.metrics.baselines import metric_baselines

Row = dict[str, Any]
FADE_METHOD = "grade-adjusted pace, early (10-60%) vs late (75-100%) part of the run"


def _steady_long(row: Row, min_distance_m: float) -> bool:
    return bool(row["qualifies"]) and bool(row["steady"]) and (row["distance_m"] or 0.0) >= min_distance_m and row["fade_pct"] is not None


def fade_alerts(fade: float, median: float | None, mad: float | None, cfg: dict[str, Any]) -> bool:
    """Whether a steady run's fade (%) raises late_fade.

    fade >= min_fade_pct (floor, default 5) and, with a baseline, fade >=
    median + above_baseline_pct (3); then either fade >= fade_pct (8) or
    fade > median + baseline_mads (2) x MAD (raw MAD of the stored baseline).
    """
    floor, absolute = float(cfg.get("min_fade_pct", 5.0)), float(cfg["fade_pct"])
    above, mads = float(cfg["above_baseline_pct"]), float(cfg["baseline_mads"])
    if fade < floor or (median is not None and fade < median + above):
        return False
    return fade >= absolute or (median is not None and fade > median + mads * (mad or 0.0))


def late_fade(runs: list[Row], cfg: dict[str, Any]) -> Iterator[Finding]:
    min_m = float(cfg["min_distance_m"])
    warning = float(cfg.get("warning_pct", 8.0))
    for row in runs:
        if not _steady_long(row, min_m):
            continue
        fade = float(row["fade_pct"])
        median, mad = row["baseline_median"], row["baseline_mad"]
        if not fade_alerts(fade, median, mad, cfg):
            continue
        km = row["distance_m"] / 1000.0
        slower = 100.0 * (1.0 / (1.0 - fade / 100.0) - 1.0) if fade < 100.0 else float("inf")
        msg = (f"On your {km:.1f} km run your grade-adjusted speed in the last quarter was {fade:.1f}% lower than early in the run "
               f"(pace {slower:.1f}% slower), on a run meant to be steady.")
        if median is not None:
            msg += f" Your usual fade on such runs is {median:.1f}%."
        msg += " Legs that fade late are running out of strength or fuel before the distance is done."
        metrics = {"fade_pct": round(fade, 2), "pace_slower_pct": round(slower, 2), "distance_km": round(km, 2),
                   "baseline_median": None if median is None else round(median, 2),
                   "baseline_mad": None if mad is None else round(mad, 2), "method": FADE_METHOD}
        sev: Severity = "warning" if fade >= warning else "caution"
        yield Finding("late_fade", sev, str(row["activity_id"]), row["local_date"], metrics, msg,
                      advice_for("late_fade"), activity_id=int(row["activity_id"]))


def _run_episodes(runs: list[Row], eligible: Callable[[Row], bool], holds: Callable[[list[Row]], bool]) -> list[list[Row]]:
    """Consecutive eligible runs on which ``holds(eligible runs so far)`` is true."""
    seen: list[Row] = []
    episodes: list[list[Row]] = []
    current: list[Row] = []
    for row in runs:
        if not eligible(row):
            continue
        seen.append(row)
        if holds(seen):
            current.append(row)
        elif current:
            episodes.append(current)
            current = []
    if current:
        episodes.append(current)
    return episodes


def recurring_fade(runs: list[Row], cfg: dict[str, Any]) -> Iterator[Finding]:
    """``count`` (3) fading runs among the last ``window`` (5) steady long runs or within
    ``window_days`` (21) days. A run fades when fade >= fade_pct (5) and, with a
    baseline, fade >= its median + above_baseline_pct (2)."""
    window, count = int(cfg["window"]), int(cfg["count"])
    min_m, limit = float(cfg["min_distance_m"]), float(cfg["fade_pct"])
    days, above = int(cfg.get("window_days", 21)), float(cfg.get("above_baseline_pct", 2.0))

    def fading(r: Row) -> bool:
        median = r.get("baseline_median")
        return r["fade_pct"] >= limit and (median is None or r["fade_pct"] >= median + above)

    def recent(seen: list[Row]) -> list[Row]:
        by_count = seen[-window:]
        by_days = [r for r in seen if days > 0 and (seen[-1]["local_date"] - r["local_date"]).days < days]
        return by_days if sum(map(fading, by_days)) > sum(map(fading, by_count)) else by_count

    def holds(seen: list[Row]) -> bool:
        return sum(map(fading, recent(seen))) >= count

    eligible = [r for r in runs if _steady_long(r, min_m)]
    for ep in _run_episodes(eligible, lambda r: True, holds):
        row = ep[0]
        idx = eligible.index(row)
        last = recent(eligible[: idx + 1])
        n = sum(map(fading, last))
        msg = (
            f"{n} of your last {len(last)} steady runs over {min_m / 1000:.0f} km slowed down by {limit:.0f}% or more "
            f"towards the end. When the late fade keeps coming back, the legs are carrying more than they recover from."
        )
        metrics = {"runs_fading": n, "runs_considered": len(last), "fade_pct": [round(r["fade_pct"], 2) for r in last],
                   "threshold_pct": limit, "method": FADE_METHOD}
        yield Finding("recurring_fade", "warning", str(row["activity_id"]), row["local_date"], metrics, msg,
                      advice_for("recurring_fade"), activity_id=int(row["activity_id"]), last_date=ep[-1]["local_date"])


def decoupling_baselines(runs: list[Row], cfg: dict[str, Any]) -> dict[int, tuple[float, float]]:
    """activity id -> (median, raw MAD) of the decoupling of comparable earlier steady runs.

    ``analysis.baseline.rolling_baselines`` over the eligible runs' decoupling
    with their moving time as duration (x/÷ 1.5), the last ``baseline_runs``
    (10), at least ``baseline_min_runs`` (5), earlier outliers left out.
    """
    return metric_baselines(runs, "decoupling_pct", n=int(cfg.get("baseline_runs", 10)),
                            min_runs=int(cfg.get("baseline_min_runs", 5)), eligible=lambda r: True)


def decoupling(runs: list[Row], cfg: dict[str, Any]) -> Iterator[Finding]:
    """Decoupling >= decoupling_pct (5) while the runner has no baseline; with one (see
    ``decoupling_baselines``): >= min_pct (5) and >= median + above_baseline_pct (4) and
    > median + baseline_mads (3) x 1.4826 x MAD. Cardiac drift of a few bpm per hour,
    more on hot days and long runs, is normal and sits inside the runner's own range.
    A run whose fade_pct >= max_fade_pct (5) is left to late_fade: a pace that drops at
    an unchanged heart rate lowers the efficiency too, and it is one event, not two."""
    limit, min_s = float(cfg["decoupling_pct"]), float(cfg["min_moving_s"])
    floor, above = float(cfg.get("min_pct", 5.0)), float(cfg.get("above_baseline_pct", 4.0))
    mads = float(cfg.get("baseline_mads", 3.0))
    max_fade = float(cfg.get("max_fade_pct", 5.0))

    def eligible(row: Row) -> bool:
        fading = row.get("fade_pct") is not None and row["fade_pct"] >= max_fade
        return (bool(row["qualifies"]) and bool(row["steady"]) and (row["moving_s"] or 0.0) >= min_s
                and row["decoupling_pct"] is not None and not fading)

    pool = [r for r in runs if eligible(r)]
    base = decoupling_baselines(pool, cfg)

    def high(row: Row) -> bool:
        d = float(row["decoupling_pct"])
        b = base.get(int(row["activity_id"]))
        if b is None:
            return d >= limit
        return d >= floor and d >= b[0] + above and d > b[0] + mads * MAD_TO_SD * b[1]

    for ep in _run_episodes(pool, lambda r: True, lambda seen: high(seen[-1])):
        row = ep[0]
        d, minutes = float(row["decoupling_pct"]), row["moving_s"] / 60.0
        b = base.get(int(row["activity_id"]))
        msg = (
            f"On your {minutes:.0f}-minute steady run your heart rate drifted {d:.1f}% against your pace from the first "
            f"half to the second (aerobic decoupling): the same pace cost more effort as the run went on."
        )
        if b is not None:
            msg += f" Your usual drift on runs of this length is {b[0]:.1f}%."
        metrics = {"decoupling_pct": round(d, 2), "moving_min": round(minutes, 1),
                   "baseline_median": None if b is None else round(b[0], 2), "baseline_mad": None if b is None else round(b[1], 2),
                   "method": "Pa:HR, first vs second half after a 10-minute warm-up (Friel)"}
        yield Finding("decoupling", "caution", str(row["activity_id"]), row["local_date"], metrics, msg,
                      advice_for("decoupling"), activity_id=int(row["activity_id"]), last_date=ep[-1]["local_date"])
