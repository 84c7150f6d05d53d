"""comeback: the return after a break, judged against the runner's own pre-break load and a safe re-entry plan.

After a break of ``break_days`` or more without activity, the week before is no
reference (its load is near zero), so an acute:chronic ratio only says "more than
nothing". Instead: P = mean weekly load of the 4 weeks before the break, and the
plan for week k after the return is P * min(1, f * (1 + g)^k) (analysis.load_ratio.reentry_plan:
start near half, add ~10 % a week), with f = 1 - (1 - start_fraction) * min(1, gap / full_break_days):
a break of full_break_days (28) or more starts at start_fraction (0.5), a 14-day one at 0.75. On day j of
the return (j = 0 on the return day) the load since the return, over at most the
last 7 days, is compared with the plan's share for those days, counting at least
FIRST_DAYS days so that one ordinary short run on the first day is not an excess:

    ratio(j) = load(max(back, d-6)..d) / (plan_week(j // 7) * max(min(7, j+1), FIRST_DAYS) / 7)

A caution opens the (single) episode on the first day ratio >= ``acwr``; it
escalates to a warning only on a whole week back (j >= 6) with ratio >= ``warning``,
so a few short runs never read as a warning. The episode lasts ``within_days``
after the return; load_spike stays silent over those days.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from analysis.load_ratio import reentry_plan
from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.episodes import escalating, when
from heavylegs.alerts.model import Finding, Severity

Row = dict[str, Any]
FIRST_DAYS = 1.25  # the first day back may carry 1.25 days' share of the first plan week
PRE_BREAK_DAYS = 28
MIN_PRE_BREAK_DAYS = 14  # less history than this before the break: nothing to compare with
METHOD = "load since the return vs a re-entry plan: half the pre-break week, +10 % a week"


def _breaks(active_days: list[date], min_gap: int) -> list[tuple[date, date]]:
    """(last day before, first day back) for each gap of at least ``min_gap`` days without activity."""
    return [(a, b) for a, b in pairwise(active_days) if (b - a).days - 1 >= min_gap]


def comeback_windows(active_days: list[date], cfg: dict[str, Any]) -> set[date]:
    """Days that belong to a comeback (from the return for ``within_days``) and to the break before it."""
    out: set[date] = set()
    within = int(cfg.get("within_days", 56))
    for before, back in _breaks(active_days, int(cfg.get("break_days", 14))):
        out |= {before + timedelta(days=i) for i in range(1, (back - before).days + within)}
    return out


def _plan_text(pre: float, f: float, g: float) -> tuple[list[int], int]:
    weeks = [int(round(float(reentry_plan(pre, k, f, g)))) for k in range(4)]
    full = math.ceil(math.log(1.0 / f) / math.log(1.0 + g)) + 1 if f < 1 else 1
    return weeks, full


def comeback(days: list[Row], active_days: list[date], cfg: dict[str, Any]) -> Iterator[Finding]:
    caution, warning = float(cfg.get("acwr", 1.3)), float(cfg.get("warning", 1.5))
    within, f = int(cfg.get("within_days", 56)), float(cfg.get("start_fraction", 0.5))
    full_days = max(1, int(cfg.get("full_break_days", 28)))
    g = float(cfg.get("weekly_increase_pct", 10.0)) / 100.0
    if not days:
        return
    loads = {r["date"]: float(r["load"] or 0.0) for r in days}
    first_day, last_day = days[0]["date"], days[-1]["date"]
    breaks = _breaks(active_days, int(cfg.get("break_days", 14)))
    for n, (before, back) in enumerate(breaks):
        history = (before - max(first_day, active_days[0])).days + 1
        if history < MIN_PRE_BREAK_DAYS:
            continue
        span = min(PRE_BREAK_DAYS, history)
        pre = sum(loads.get(before - timedelta(days=i), 0.0) for i in range(span)) * 7.0 / span
        if pre <= 0:
            continue
        gap = (back - before).days - 1
        # A two-week holiday costs less conditioning than two months off: shorter breaks start closer to
        # the old load (14 of 28 days: halfway between start_fraction and all of it).
        f_gap = 1.0 - (1.0 - f) * min(1.0, gap / full_days)
        end = back + timedelta(days=within)
        if n + 1 < len(breaks):
            end = min(end, breaks[n + 1][0] + timedelta(days=1))
        rows: list[Row] = []
        d = back
        while d < end and d <= last_day:
            j = (d - back).days
            days_in = min(7, j + 1)
            load = sum(loads.get(d - timedelta(days=i), 0.0) for i in range(days_in))
            plan_week = float(reentry_plan(pre, j // 7, f_gap, g))
            allowance = plan_week * max(days_in, FIRST_DAYS) / 7.0
            rows.append({"date": d, "j": j, "days_in": days_in, "load": load, "plan_week": plan_week,
                         "allowance": allowance, "ratio": load / allowance if allowance > 0 else 0.0})
            d += timedelta(days=1)

        def level(row: Row) -> Severity | None:
            if row["days_in"] == 7 and row["ratio"] >= warning:
                return "warning"
            return "caution" if row["ratio"] >= caution else None

        start = next((i for i, r in enumerate(rows) if level(r) is not None), None)
        if start is None:
            continue
        weeks, full = _plan_text(pre, f_gap, g)

        def make(row: Row, sev: Severity, key: str, gap: int = gap, pre: float = pre, weeks: list[int] = weeks,
                 full: int = full, back: date = back, f: float = f_gap, g: float = g) -> Finding:
            load, allow, ratio = round(row["load"]), round(row["allowance"]), round(row["ratio"], 2)
            span_txt = ("on the first day back" if row["j"] == 0 else f"in the {row['days_in']} days since" if row["j"] < 7
                        else "in the last 7 days")
            if sev == "warning":
                which = "Your first full week back" if row["j"] == 6 else f"Your last 7 days (week {row['j'] // 7 + 1} back)"
                msg = (f"{which} after a {gap}-day break carried a load of {load}, {ratio:.2f} times the "
                       f"re-entry week of {allow} (about {f:.0%} of your usual week of {round(pre)} before the break, "
                       f"plus {g:.0%} a week). "
                       f"After time off, legs have lost some of their conditioning, so the same runs weigh more than before.")
            else:
                msg = (f"You came back {when(back, row['date'])} after a {gap}-day break. Your load {span_txt} was {load}, "
                       f"{ratio:.2f} times what a gradual return allows so far ({allow}). Your usual week before the break "
                       f"was {round(pre)}; after time off the same runs weigh more than they did.")
            plan = (f"A safe re-entry plan, as weekly load: {', '.join(str(w) for w in weeks)}, then about +{g:.0%} a week "
                    f"until you are back at {round(pre)} (around week {full}).")
            metrics = {"break_days": gap, "returned_on": back.isoformat(), "days_back": row["days_in"],
                       "load_since_return": load, "plan_allowance": allow, "plan_ratio": ratio,
                       "pre_break_week": round(pre), "plan_weeks": weeks, "method": METHOD}
            # One comeback per break: keyed by the return day, not by the day the first alert came.
            suffix = key[key.index("#"):] if "#" in key else ""
            return Finding("comeback", sev, back.isoformat() + suffix, row["date"], metrics, msg,
                           advice_for("comeback", sev, first=[plan]))

        # The episode lasts while the return runs ahead of the plan (its last day is the last one that did).
        last = max(i for i, r in enumerate(rows) if level(r) is not None)
        for found in escalating("comeback", rows[start : last + 1], level, make):
            if "episode_start" in found.metrics:
                found.metrics["episode_start"] = back.isoformat()
            yield found
