"""Episodes of day rules: plain runs of days, hysteresis, escalation, reminders, and words for "when".

An episode is what a runner experiences as one event (a ramp, a streak). Its key
is its first day, so every later check finds the same alert id; a higher severity
reached while it lasts adds one alert per level (key ``<first day>#<level>``), never
the same level twice.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from heavylegs.alerts.model import SEVERITIES, Finding, Severity

Row = dict
MakeFinding = Callable[[Row, Severity, str], Finding]  # (row, severity, episode key) -> Finding


def day_episodes(days: list[Row], holds: Callable[[Row], bool]) -> list[list[Row]]:
    """Runs of consecutive dates (a missing day ends a run) on which ``holds`` is true."""
    episodes: list[list[Row]] = []
    current: list[Row] = []
    prev: date | None = None
    for row in days:
        contiguous = prev is not None and (row["date"] - prev).days == 1
        if holds(row):
            if current and not contiguous:
                episodes.append(current)
                current = []
            current.append(row)
        elif current:
            episodes.append(current)
            current = []
        prev = row["date"]
    if current:
        episodes.append(current)
    return episodes


def hysteresis_episodes(days: list[Row], opens: Callable[[Row], bool], calm: Callable[[Row], bool],
                        close_days: int) -> list[list[Row]]:
    """Episodes that open on a day where ``opens`` holds and close only after ``close_days``
    consecutive ``calm`` days (those calm days end the episode and are not part of it).

    Why: a ratio that dips below its opening threshold for a day or two (a rest day,
    an easy week inside a ramp) is not the end of the event; closing on the first dip
    would restart the same event as a new alert.
    """
    episodes: list[list[Row]] = []
    current: list[Row] = []
    calm_run: list[Row] = []
    for row in days:
        if not current:
            if opens(row):
                current = [row]
                calm_run = []
            continue
        if calm(row):
            calm_run.append(row)
            if len(calm_run) >= close_days:
                episodes.append(current)
                current, calm_run = [], []
            continue
        current.extend(calm_run)
        calm_run = []
        current.append(row)
    if current:
        episodes.append(current)
    return episodes


def escalating(rule: str, episode: list[Row], severity_of: Callable[[Row], Severity | None], make: MakeFinding,
               reminder_days: int = 0) -> Iterator[Finding]:
    """The opening finding, then one finding per higher severity reached inside ``episode``."""
    start = episode[0]
    key = start["date"].isoformat()
    last_date = episode[-1]["date"]
    first_sev: Severity = severity_of(start) or "caution"
    first = make(start, first_sev, key)
    first.last_date = last_date
    yield first
    reached = SEVERITIES.index(first_sev)
    for row in episode[1:]:
        sev = severity_of(row)
        if sev is None or SEVERITIES.index(sev) <= reached:
            continue
        reached = SEVERITIES.index(sev)
        found = make(row, sev, f"{key}#{sev}")
        found.last_date = last_date
        found.metrics["episode_start"] = key
        yield found
    if reminder_days > 0:
        k = (last_date - start["date"]).days // reminder_days
        # The reminder goes out on the first day of its period on which the rule holds (an episode
        # with hysteresis also holds calm days that did not close it).
        due: Row | None = next((r for r in episode if (r["date"] - start["date"]).days >= k * reminder_days
                                and severity_of(r) is not None), None) if k >= 1 else None
        if due is not None:
            again = make(due, SEVERITIES[reached], f"{key}#r{k}")
            again.last_date = last_date
            again.metrics["episode_start"] = key
            yield again


def when(day: date, ref: date) -> str:
    """"today", "yesterday", "3 days ago" (``day`` seen from ``ref``); "on <date>" in the future or beyond 6 days."""
    n = (ref - day).days
    if n == 0:
        return "today"
    if n == 1:
        return "yesterday"
    if 1 < n <= 6:
        return f"{n} days ago"
    return f"on {day.isoformat()}"
