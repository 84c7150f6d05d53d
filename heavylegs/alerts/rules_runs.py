"""Run-based rules over ``activity_metrics``: late_fade, recurring_fade, decoupling.

``runs`` are the athlete's qualifying runs in start order. late_fade is one
alert per run (keyed by activity id); recurring_fade and decoupling are
episodes over consecutive eligible runs, keyed by the run that started them,
so a pattern that persists run after run alerts once.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.model import Finding

Row = dict[str, Any]
FADE_METHOD = "grade-adjusted pace, early (10-60%) vs late (75-100%) part of the run"


def _steady_long(row: Row, min_distance_m: float) -> bool:
    return bool(row["qualifies"]) and bool(row["steady"]) and (row["distance_m"] or 0.0) >= min_distance_m and row["fade_pct"] is not None


def late_fade(runs: list[Row], cfg: dict[str, Any]) -> Iterator[Finding]:
    min_m, absolute = float(cfg["min_distance_m"]), float(cfg["fade_pct"])
    above, mads = float(cfg["above_baseline_pct"]), float(cfg["baseline_mads"])
    for row in runs:
        if not _steady_long(row, min_m):
            continue
        fade = float(row["fade_pct"])
        median, mad = row["baseline_median"], row["baseline_mad"]
        unusual = median is not None and fade >= median + above and fade > median + mads * (mad or 0.0)
        if fade < absolute and not unusual:
            continue
        km = row["distance_m"] / 1000.0
        msg = f"On your {km:.1f} km run your pace in the last quarter was {fade:.1f}% slower than early in the run, at a steady effort."
        if median is not None:
            msg += f" Your usual fade on such runs is {median:.1f}%."
        msg += " Legs that fade late are running out of strength or fuel before the distance is done."
        metrics = {"fade_pct": round(fade, 2), "distance_km": round(km, 2),
                   "baseline_median": None if median is None else round(median, 2),
                   "baseline_mad": None if mad is None else round(mad, 2), "method": FADE_METHOD}
        sev = "warning" if fade >= 2 * absolute else "caution"
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
    window, count = int(cfg["window"]), int(cfg["count"])
    min_m, limit = float(cfg["min_distance_m"]), float(cfg["fade_pct"])

    def holds(seen: list[Row]) -> bool:
        return sum(1 for r in seen[-window:] if r["fade_pct"] >= limit) >= count

    eligible = [r for r in runs if _steady_long(r, min_m)]
    for ep in _run_episodes(eligible, lambda r: True, holds):
        row = ep[0]
        idx = eligible.index(row)
        last = eligible[max(0, idx - window + 1) : idx + 1]
        n = sum(1 for r in last if r["fade_pct"] >= limit)
        msg = (
            f"{n} of your last {len(last)} steady runs over {min_m / 1000:.0f} km slowed down by {limit:.0f}% or more "
            f"towards the end. When the late fade keeps coming back, the legs are carrying more than they recover from."
        )
        metrics = {"runs_fading": n, "runs_considered": len(last), "fade_pct": [round(r["fade_pct"], 2) for r in last],
                   "threshold_pct": limit, "method": FADE_METHOD}
        yield Finding("recurring_fade", "warning", str(row["activity_id"]), row["local_date"], metrics, msg,
                      advice_for("recurring_fade"), activity_id=int(row["activity_id"]), last_date=ep[-1]["local_date"])


def decoupling(runs: list[Row], cfg: dict[str, Any]) -> Iterator[Finding]:
    limit, min_s = float(cfg["decoupling_pct"]), float(cfg["min_moving_s"])

    def eligible(row: Row) -> bool:
        return bool(row["qualifies"]) and bool(row["steady"]) and (row["moving_s"] or 0.0) >= min_s and row["decoupling_pct"] is not None

    for ep in _run_episodes(runs, eligible, lambda seen: seen[-1]["decoupling_pct"] >= limit):
        row = ep[0]
        d, minutes = float(row["decoupling_pct"]), row["moving_s"] / 60.0
        msg = (
            f"On your {minutes:.0f}-minute steady run your heart rate drifted {d:.1f}% against your pace from the first "
            f"half to the second (aerobic decoupling): the same pace cost more effort as the run went on."
        )
        metrics = {"decoupling_pct": round(d, 2), "moving_min": round(minutes, 1),
                   "method": "Pa:HR, first vs second half after a 10-minute warm-up (Friel)"}
        yield Finding("decoupling", "caution", str(row["activity_id"]), row["local_date"], metrics, msg,
                      advice_for("decoupling"), activity_id=int(row["activity_id"]), last_date=ep[-1]["local_date"])
