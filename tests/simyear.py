"""Simulated training histories with known truth, for judging the alerts (issue 10's harness).

Each scenario is a list of :class:`RunSpec` plus a :class:`Truth`. The healthy runner:
4-5 runs a week (Monday always, and one or two more days, rest), easy runs of 6-12 km,
a Sunday long run building from 14 to 22 km in blocks of three build weeks (+0 %,
+5 %, +10 %) and a -15 % cutback week, an interval session every other Tuesday
(2 km warm-up, 6 x 800 m with 400 m jogs, 1.6 km cool-down; every second one with
workout laps in the file), about 45 hilly runs a year (rolling routes, out-and-backs
that climb first and finish downhill, a hill in the middle, a final climb), +-5 % day
noise in pace, natural late slowdowns of 0-4 % and cardiac drift of 2-4 bpm/h
(4-6 in June-August). The unhealthy scenarios start from 10 healthy weeks.
``tests/simyear_judge.py`` imports the files with ``heavylegs import`` and judges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from tests.simyear_runs import RunSpec

YEAR_START = date(2025, 1, 6)  # a Monday
BASE_START = date(2025, 3, 3)  # a Monday; the unhealthy scenarios' 10 base weeks start here
BASE_WEEKS = 10
HILLY = ("rolling", "rolling", "outback", "outback", "hill_middle", "final_climb")


@dataclass
class Truth:
    """What a good alerting system says: ``expect`` rules from ``onset`` for ``window_days``; nothing else."""

    name: str
    onset: date | None = None
    expect: tuple[str, ...] = ()
    window_days: int = 0
    events: list[date] = field(default_factory=list)  # e.g. the fading runs' dates
    related: tuple[str, ...] = ()  # rules that are true too on an event day (a fading run also decouples)
    end: date | None = None


def _summer(d: date) -> bool:
    return d.month in (6, 7, 8)


def _run(rng: np.random.Generator, day: date, kind: str, km: float, route: str = "flat", **kw: object) -> RunSpec:
    summer = _summer(day)
    spec = RunSpec(day, kind, round(km, 2), route, fade_pct=float(rng.uniform(0.0, 4.0)),
                   pace_factor=float(1.0 + np.clip(rng.normal(0, 0.025), -0.05, 0.05)),
                   drift_bpm_h=float(rng.uniform(4.0, 6.0) if summer else rng.uniform(2.0, 4.0)),
                   hr_offset=float(rng.normal(0, 2.0) + (3.0 if summer else 0.0)), seed=int(rng.integers(1 << 31)))
    for k, v in kw.items():
        setattr(spec, k, v)
    return spec


def long_km(week: int, start_km: float = 14.0, top_km: float = 22.0) -> float:
    """Blocks of 4 weeks: +0 %, +5 %, +10 % over the block's base, then 85 % of the week before."""
    block, pos = divmod(week, 4)
    base = min(top_km / 1.1, start_km * 1.1**block)
    build = [base, base * 1.05, min(top_km, base * 1.1)]
    return build[pos] if pos < 3 else 0.85 * build[2]


def healthy_weeks(rng: np.random.Generator, monday: date, weeks: int, first_week: int = 0,
                  hilly_p: float = 0.19, routes: tuple[str, ...] = HILLY) -> list[RunSpec]:
    out: list[RunSpec] = []
    for w in range(weeks):
        wk = first_week + w
        start = monday + timedelta(weeks=w)
        five = rng.random() < 0.5
        days = [1, 2, 3, 5, 6] if five else ([1, 3, 5, 6] if rng.random() < 0.5 else [1, 2, 4, 6])
        for dow in days:
            day = start + timedelta(days=dow)
            route = routes[int(rng.integers(len(routes)))] if routes and rng.random() < hilly_p else "flat"
            if dow == 6:
                out.append(_run(rng, day, "long", long_km(wk), route))
            elif dow == 1 and wk % 2 == 1:
                out.append(_run(rng, day, "intervals", 10.4, "flat", workout_laps=(wk // 2) % 2 == 0, fade_pct=0.0))
            else:
                out.append(_run(rng, day, "easy", float(rng.uniform(6.0, 12.0)), route))
    return out


def _base(rng: np.random.Generator, hilly_p: float = 0.19) -> list[RunSpec]:
    return healthy_weeks(rng, BASE_START, BASE_WEEKS, hilly_p=hilly_p)


AFTER_BASE = BASE_START + timedelta(weeks=BASE_WEEKS)


def healthy_year(seed: int, weeks: int = 52) -> tuple[list[RunSpec], Truth]:
    rng = np.random.default_rng(seed)
    runs = healthy_weeks(rng, YEAR_START, weeks)
    return runs, Truth("healthy", end=YEAR_START + timedelta(weeks=weeks, days=-1))


def ramp(seed: int) -> tuple[list[RunSpec], Truth]:
    """Weekly volume x1.26, x1.59, x2.0 over three weeks (six runs a week, intervals kept), one more week at
    x2, then two ordinary weeks. The onset is the first day of the first bigger week."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    base_km = sum(r.distance_km for r in runs if r.day >= AFTER_BASE - timedelta(weeks=4)) / 4.0
    for w, factor in enumerate([2 ** (1 / 3), 2 ** (2 / 3), 2.0, 2.0]):
        monday = AFTER_BASE + timedelta(weeks=w)
        week = [r for r in healthy_weeks(rng, monday, 1, first_week=BASE_WEEKS + w) if r.kind != "easy"]
        days = {r.day for r in week}
        fixed = sum(r.distance_km * (min(factor, 1.3) if r.kind == "long" else 1.0) for r in week)
        easy_days = [monday + timedelta(days=d) for d in range(1, 6) if monday + timedelta(days=d) not in days]
        easy = (base_km * factor - fixed) / len(easy_days)
        for r in week:
            if r.kind == "long":
                r.distance_km = round(r.distance_km * min(factor, 1.3), 2)
        week += [_run(rng, d, "easy", easy * float(rng.uniform(0.9, 1.1))) for d in easy_days]
        runs += sorted(week, key=lambda r: r.day)
    runs += healthy_weeks(rng, AFTER_BASE + timedelta(weeks=4), 2, first_week=BASE_WEEKS)
    onset = AFTER_BASE + timedelta(days=1)
    return runs, Truth("ramp", onset, ("load_spike",), 35, end=AFTER_BASE + timedelta(weeks=6, days=-1))


def reckless_comeback(seed: int, weeks_off: int = 5) -> tuple[list[RunSpec], Truth]:
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    back = AFTER_BASE + timedelta(weeks=weeks_off)
    runs += healthy_weeks(rng, back, 4, first_week=BASE_WEEKS)
    first = min(r.day for r in runs if r.day >= back)
    return runs, Truth("reckless_comeback", first, ("comeback",), 28, end=back + timedelta(weeks=4, days=-1))


def gentle_comeback(seed: int, weeks_off: int = 5) -> tuple[list[RunSpec], Truth]:
    """Three runs a week of 5 km growing ~7 % a week (to 8 km) for 8 weeks after the break."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    back = AFTER_BASE + timedelta(weeks=weeks_off)
    for w in range(8):
        for dow in (1, 3, 5):
            km = 5.0 * 1.07**w * float(rng.uniform(0.95, 1.05))
            runs.append(_run(rng, back + timedelta(weeks=w, days=dow), "easy", km))
    first = min(r.day for r in runs if r.day >= back)
    return runs, Truth("gentle_comeback", first, ("comeback",), 56, end=back + timedelta(weeks=8, days=-1))


def repeated_fading(seed: int) -> tuple[list[RunSpec], Truth]:
    """6 flat long runs in 5 weeks, each fading 10-15 % in the last quarter."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    weeks = healthy_weeks(rng, AFTER_BASE, 5, first_week=BASE_WEEKS)
    fading: list[date] = []
    for r in weeks:
        if r.kind == "long":
            r.route, r.fade_pct = "flat", float(rng.uniform(10.0, 15.0))
            fading.append(r.day)
    extra_day = AFTER_BASE + timedelta(weeks=2, days=3)  # a Thursday
    # The extra long run replaces that week's easy runs from Wednesday to Friday: the same volume, not more.
    weeks = [r for r in weeks if not (extra_day - timedelta(days=1) <= r.day <= extra_day + timedelta(days=1))]
    weeks.append(_run(rng, extra_day, "long", 16.0, "flat", fade_pct=float(rng.uniform(10.0, 15.0))))
    fading = sorted(fading + [extra_day])
    runs += sorted(weeks, key=lambda r: r.day)
    # Two long runs three days apart really are a heavier 7 days: load_spike on the days whose 7-day
    # window holds both is true, not a false alarm; and a fading run also decouples (pace drops at the same HR).
    loaded = [extra_day + timedelta(days=i) for i in range(3, 10)]
    return runs, Truth("repeated_fading", fading[0], ("late_fade", "recurring_fade"), 35, fading + loaded,
                       ("decoupling", "load_spike"),
                       end=AFTER_BASE + timedelta(weeks=5, days=-1))


def no_rest(seed: int) -> tuple[list[RunSpec], Truth]:
    """14 days in a row at about the usual weekly volume, then ordinary weeks again."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    for d in range(14):
        day = AFTER_BASE + timedelta(days=d)
        if d in (6, 13):
            runs.append(_run(rng, day, "long", long_km(BASE_WEEKS + d // 7)))
        else:
            runs.append(_run(rng, day, "easy", float(rng.uniform(5.0, 7.0))))
    runs += healthy_weeks(rng, AFTER_BASE + timedelta(weeks=2), 1, first_week=BASE_WEEKS + 2)
    return runs, Truth("no_rest", AFTER_BASE, ("no_rest",), 14, end=AFTER_BASE + timedelta(weeks=3, days=-1))


def terrain(seed: int) -> tuple[list[RunSpec], Truth]:
    """Flat base weeks, then runs that slow only on a final climb, and out-and-backs finishing downhill."""
    rng = np.random.default_rng(seed)
    runs = _base(rng, hilly_p=0.0)
    special = [(1, "easy", 10.0, "final_climb"), (3, "easy", 9.0, "flat"), (6, "long", 16.0, "outback"),
               (8, "easy", 12.0, "outback"), (10, "easy", 8.0, "flat"), (13, "long", 15.0, "final_climb")]
    events = []
    for d, kind, km, route in special:
        day = AFTER_BASE + timedelta(days=d)
        runs.append(_run(rng, day, kind, km, route))
        if route != "flat":
            events.append(day)
    return runs, Truth("terrain", None, (), 0, events, end=AFTER_BASE + timedelta(weeks=2, days=-1))


def short_break(seed: int, days_off: int = 10) -> tuple[list[RunSpec], Truth]:
    """Ill for 10 days, then back to the usual weeks: not a comeback (under break_days), not a load spike."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    back = AFTER_BASE + timedelta(days=days_off)
    runs += [r for r in healthy_weeks(rng, AFTER_BASE, 5, first_week=BASE_WEEKS) if r.day >= back]
    return runs, Truth("short_break", None, (), 0, end=AFTER_BASE + timedelta(weeks=5, days=-1))


def holiday(seed: int) -> tuple[list[RunSpec], Truth]:
    """17 days off, then straight back to the usual weeks: at most a caution (a short break costs little)."""
    rng = np.random.default_rng(seed)
    runs = _base(rng)
    back = AFTER_BASE + timedelta(days=17)
    runs += [r for r in healthy_weeks(rng, AFTER_BASE, 7, first_week=BASE_WEEKS) if r.day >= back]
    first = min(r.day for r in runs if r.day >= back)
    return runs, Truth("holiday", first, ("comeback",), 28, end=AFTER_BASE + timedelta(weeks=7, days=-1))


SCENARIOS = {
    "healthy": healthy_year, "ramp": ramp, "reckless_comeback": reckless_comeback,
    "gentle_comeback": gentle_comeback, "repeated_fading": repeated_fading, "no_rest": no_rest, "terrain": terrain,
    "short_break": short_break, "holiday": holiday,
}
