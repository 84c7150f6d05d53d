"""Day-based rules over ``daily_metrics``: load_spike, monotony, no_rest (comeback: rules_comeback.py).

load_spike judges the last 7 days' load against the mean of the four 7-day sums
before them (analysis.load_ratio), a ratio that an ordinary week's long run does
not move, and works in episodes with hysteresis: an episode opens when the ratio
reaches ``caution`` and the last 7 days are also heavier than any 7 days of the 8
weeks before (times ``peak_margin``, 1.0 from a ratio of ``peak_bypass`` on), escalates once per level (caution, warning,
urgent; above caution only when the last 7 days exceed that 8-week peak by
``escalate_above_peak``) while it lasts, and closes only after ``close_days`` days in a row below
``close_below``. A caution episode that fell back under caution for ``renewed_rise_days`` days
and then rises past its own top becomes a warning: a second rise, often a ramp starting right
after a one-off heavy week. Days inside a comeback window (after a break) belong to the
comeback rule: a ratio over a near-zero reference means nothing there.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np

from analysis.load_ratio import weekly_load_ratio
from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.episodes import day_episodes, escalating, hysteresis_episodes, when
from heavylegs.alerts.model import Finding, Severity
from heavylegs.alerts.rules_comeback import comeback, comeback_windows
from heavylegs.metrics.summary import describe_change

__all__ = ["load_spike", "monotony", "no_rest", "streak_days", "comeback", "comeback_windows", "day_episodes", "EWMA_METHOD"]

Row = dict[str, Any]
EWMA_METHOD = "EWMA 7/28 (Williams 2017)"
WEEKLY_METHOD = "sum of the last 7 days / mean of the four 7-day sums before them"


def dense_loads(days: list[Row]) -> tuple[date, np.ndarray]:
    """(first date, load per calendar day from it), 0 where a day has no row or no load."""
    first = days[0]["date"]
    out = np.zeros((days[-1]["date"] - first).days + 1)
    for row in days:
        out[(row["date"] - first).days] = float(row["load"] or 0.0)
    return first, out


def _weekly_rows(days: list[Row]) -> list[Row]:
    first, loads = dense_loads(days)
    series = weekly_load_ratio(loads)
    out = []
    for row in days:
        i = (row["date"] - first).days
        r = series["ratio"][i]
        out.append({"date": row["date"], "ratio": None if np.isnan(r) else float(r),
                    "load_7d": float(series["load_7d"][i]), "weekly_mean": float(series["weekly_mean"][i]),
                    "peak_7d": None if np.isnan(series["peak_7d"][i]) else float(series["peak_7d"][i])})
    return out


def _ewma_rows(days: list[Row]) -> list[Row]:
    return [{"date": r["date"], "ratio": None if r["acwr_ewma"] is None else float(r["acwr_ewma"]),
             "load_7d": None, "weekly_mean": None, "peak_7d": None} for r in days]


def load_spike(days: list[Row], cfg: dict[str, Any], reminder_days: int,
               quiet: frozenset[date] | set[date] = frozenset()) -> Iterator[Finding]:
    if not days:
        return
    caution, warning = float(cfg["caution"]), float(cfg["warning"])
    # urgent: a ratio this high is sent even during quiet hours (0 or absent = never urgent).
    urgent = float(cfg.get("urgent") or 0.0) or float("inf")
    close_below, close_days = float(cfg.get("close_below", 1.1)), int(cfg.get("close_days", 7))
    margin, bypass = float(cfg.get("peak_margin", 1.05)), float(cfg.get("peak_bypass", 1.4))
    weekly = str(cfg.get("ratio", "weekly")) != "ewma"
    rows = _weekly_rows(days) if weekly else _ewma_rows(days)
    first_day = days[0]["date"]
    min_days = int(cfg.get("min_history_days", 42))
    for row in rows:
        if (row["date"] - first_day).days + 1 < min_days or row["date"] in quiet:
            row["ratio"] = None

    above_peak = float(cfg.get("escalate_above_peak", 1.2))

    def level(row: Row) -> Severity | None:
        r = row["ratio"]
        if r is None or r < caution:
            return None
        # A high ratio over a reference deflated by days off (an illness, a short break) is not a steep
        # rise when the week is about what the runner did in the last 8 weeks: it stays a caution.
        if weekly and row["peak_7d"] is not None and row["load_7d"] < above_peak * row["peak_7d"]:
            return "caution"
        return "urgent" if r >= urgent else "warning" if r >= warning else "caution"

    def opens(row: Row) -> bool:
        if level(row) is None:
            return False
        if not weekly or row["peak_7d"] is None:
            return True
        # A steep ratio needs only to pass the peak itself; a week that merely repeats a load done in the
        # last 8 weeks (after an illness, after a cutback) is a return to normal, whatever the ratio.
        return row["load_7d"] >= (1.0 if row["ratio"] >= bypass else margin) * row["peak_7d"]

    def make(row: Row, sev: Severity, key: str) -> Finding:
        r = round(float(row["ratio"]), 2)
        start = date.fromisoformat(key.split("#")[0])
        ago = when(start, row["date"])
        lead = "" if start == row["date"] else f"Your load has kept rising since {start.isoformat()}" + (
            "" if ago.startswith("on ") else f" ({ago})") + ". "
        if weekly:
            s7, mean, peak = round(row["load_7d"]), round(row["weekly_mean"]), row["peak_7d"]
            msg = (f"{lead}Your training load over the last 7 days was {s7}, {describe_change(r)} your average week "
                   f"over the 4 weeks before ({mean}; ratio {r:.2f}).")
            metrics: dict[str, Any] = {"ratio": r, "load_7d": s7, "weekly_avg_4w": mean}
            if peak is not None and row["load_7d"] > peak:
                msg += f" It is also more than your heaviest 7 days of the 8 weeks before ({round(peak)})."
                metrics["peak_7d_8w"] = round(peak)
            metrics["method"] = WEEKLY_METHOD
        else:
            msg = f"{lead}Your load over the last 7 days is {describe_change(r)} your 4-week average (acute:chronic ratio {r:.2f}, exponentially weighted)."
            metrics = {"acwr_ewma": r, "method": EWMA_METHOD}
        # Described as a change in load, never as a risk: the ratio says how fast load moved, nothing more.
        msg += (" This describes how quickly your load changed, not a chance of injury: load that rises this quickly gives "
                "muscles, tendons and bones less time to adapt than they usually get.")
        if sev == "urgent":
            msg += " That is a very steep rise: consider an easy day or rest before your next hard session."
        return Finding("load_spike", sev, key, row["date"], metrics, msg, advice_for("load_spike", sev))

    calm = lambda row: row["ratio"] is None or row["ratio"] < close_below  # noqa: E731
    renew_days = int(cfg.get("renewed_rise_days", 3))
    for ep in hysteresis_episodes(rows, opens, calm, close_days):
        again = _renewed_rise(ep, level, opens, margin, renew_days) if weekly and renew_days > 0 else None
        if again is None:
            yield from escalating("load_spike", ep, level, make, reminder_days)
            continue
        day, top = again

        def sev_of(row: Row, day: date = day) -> Severity | None:
            return "warning" if row["date"] == day else level(row)

        def make_again(row: Row, sev: Severity, key: str, day: date = day, top: float = top) -> Finding:
            found = make(row, sev, key)
            if row["date"] == day and sev == "warning":
                found.metrics["top_7d_before_dip"] = round(top)
                found.message = found.message.replace(" This describes", (
                    f" After falling back, it has risen past the heaviest 7 days earlier in this episode "
                    f"({round(top)}): a second rise, not a one-off week. This describes"), 1)
            return found

        yield from escalating("load_spike", ep, sev_of, make_again, reminder_days)


def _renewed_rise(ep: list[Row], level: Any, opens: Any, margin: float, fall_days: int) -> tuple[date, float] | None:
    """(The day a caution episode rises a second time, its top before the dip), or None.

    The second rise: after ``fall_days`` days in a row back under caution, a day on which the episode
    would open again and whose 7 days exceed the episode's heaviest 7 days before the dip times
    ``margin``. Why: a caution that falls back is usually a one-off heavy week, but load that then
    climbs past it is a sustained rise; inside the still-open episode it would otherwise show only
    when it reaches the warning ratio days later. None when the episode reached warning on its own."""
    fallen, fell_back, top = 0, False, 0.0
    for row in ep:
        lv = level(row)
        if lv not in (None, "caution"):
            return None
        if fell_back and opens(row) and row["load_7d"] >= margin * top:
            return row["date"], top
        if not fell_back:  # the first rise's top; later days are the second rise itself
            top = max(top, row["load_7d"] or 0.0)
        fallen = fallen + 1 if lv is None else 0
        fell_back = fell_back or fallen >= fall_days
    return None


def monotony(days: list[Row], cfg: dict[str, Any], reminder_days: int,
             quiet: frozenset[date] | set[date] = frozenset()) -> Iterator[Finding]:
    """Foster's monotony over 7 days; ``quiet`` days (a no_rest streak, an open load_spike episode) are left
    to those rules: the same cause, said once."""
    limit = float(cfg["monotony"])

    def make(row: Row, sev: Severity, key: str) -> Finding:
        m = float(row["monotony"])
        msg = (
            f"Your last 7 days were very uniform: training monotony {m:.1f} (average daily load divided by its day-to-day "
            f"variation). Hard days without easy days in between leave your legs little room to recover."
        )
        metrics = {"monotony": round(m, 2), "strain": None if row["strain"] is None else round(row["strain"], 1),
                   "method": "Foster 1998: mean / SD of the last 7 daily loads"}
        return Finding("monotony", "caution", key, row["date"], metrics, msg, advice_for("monotony"))

    holds = lambda row: row["monotony"] is not None and row["monotony"] >= limit and row["date"] not in quiet  # noqa: E731
    for ep in day_episodes(days, holds):
        yield from escalating("monotony", ep, lambda _r: "caution", make, reminder_days)


def no_rest(days: list[Row], cfg: dict[str, Any], reminder_days: int) -> Iterator[Finding]:
    """One alert per streak of ``run_streak`` or more days in a row with training."""
    limit = int(cfg["run_streak"])

    def make(row: Row, sev: Severity, key: str) -> Finding:
        n = int(row["run_streak"])
        since = row["date"] - timedelta(days=n - 1)
        msg = (f"You have trained {n} days in a row without a rest day (since {since.isoformat()}). "
               f"Legs adapt on the rest days, not during the runs.")
        metrics = {"run_streak": n, "method": "consecutive days with at least one activity"}
        return Finding("no_rest", "caution", key, row["date"], metrics, msg, advice_for("no_rest"))

    for ep in day_episodes(days, lambda row: row["run_streak"] >= limit):
        yield from escalating("no_rest", ep, lambda _r: "caution", make, reminder_days)


def streak_days(days: list[Row], limit: int) -> set[date]:
    """The days of no_rest episodes (a streak from its ``limit``-th day on) and the 6 days after each,
    whose 7-day window still holds part of the streak: monotony leaves those to no_rest (the same cause,
    said once). Only days on which no_rest already holds count, so a daily check and a later one agree."""
    out: set[date] = set()
    for ep in day_episodes(days, lambda row: row["run_streak"] >= limit):
        out |= {ep[0]["date"] + timedelta(days=i) for i in range((ep[-1]["date"] - ep[0]["date"]).days + 7)}
    return out
