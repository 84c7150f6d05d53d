"""Day-based rules over ``daily_metrics``: load_spike, monotony, no_rest, comeback.

Each rule yields one Finding per *episode*: a run of consecutive days on
which the rule holds. The episode key is the episode's first day, so a rule
that keeps holding produces the same alert id every day (stored once), and a
rule that clears and comes back starts a new episode. With
``alerts.reminder_days`` > 0 a long episode adds one reminder per period.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterator

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.model import Finding
from heavylegs.metrics.summary import describe_change

Row = dict[str, Any]
EWMA_METHOD = "EWMA 7/28 (Williams 2017)"


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


def _with_reminders(rule: str, episode: list[Row], reminder_days: int, make: Callable[[Row, str], Finding]) -> Iterator[Finding]:
    start = episode[0]
    last_date = episode[-1]["date"]
    first = make(start, start["date"].isoformat())
    first.last_date = last_date
    yield first
    if reminder_days > 0:
        k = (last_date - start["date"]).days // reminder_days
        if k >= 1:
            row = next(r for r in episode if (r["date"] - start["date"]).days >= k * reminder_days)
            again = make(row, f"{start['date'].isoformat()}#r{k}")
            again.last_date = last_date
            again.metrics["episode_start"] = start["date"].isoformat()
            yield again


def load_spike(days: list[Row], cfg: dict[str, Any], reminder_days: int) -> Iterator[Finding]:
    caution, warning = float(cfg["caution"]), float(cfg["warning"])
    # urgent: a ratio this high is sent even during quiet hours (0 or absent = never urgent).
    urgent = float(cfg.get("urgent") or 0.0) or float("inf")
    if not days:
        return
    first_day = days[0]["date"]
    min_days = int(cfg.get("min_history_days", 28))

    def ratio(row: Row) -> float | None:
        if (row["date"] - first_day).days + 1 < min_days:
            return None
        return row["acwr_ewma"]

    def make(row: Row, key: str) -> Finding:
        r = float(row["acwr_ewma"])
        sev = "urgent" if r >= urgent else "warning" if r >= warning else "caution"
        msg = (
            f"Your load over the last 7 days is {describe_change(r)} your 4-week average "
            f"(acute:chronic ratio {r:.2f}, exponentially weighted). Load that rises this quickly gives "
            f"muscles, tendons and bones less time to adapt than they usually get."
        )
        if sev == "urgent":
            msg += " That is a very steep rise: consider an easy day or rest before your next hard session."
        metrics = {"acwr_ewma": round(r, 3), "acute": round(row["acute"], 1), "chronic": round(row["chronic"], 1), "method": EWMA_METHOD}
        return Finding("load_spike", sev, key, row["date"], metrics, msg, advice_for("load_spike"))

    for ep in day_episodes(days, lambda row: (ratio(row) or 0.0) >= caution):
        yield from _with_reminders("load_spike", ep, reminder_days, make)
        # An episode that later crosses the warning (or urgent) line says so once per line.
        for name, level in (("warning", warning), ("urgent", urgent)):
            if ep[0]["acwr_ewma"] >= level:
                continue
            worse = next((r for r in ep if r["acwr_ewma"] >= level), None)
            # Straight from caution to urgent: the urgent escalation alone says it.
            if worse is not None and not (name == "warning" and worse["acwr_ewma"] >= urgent):
                esc = make(worse, f"{ep[0]['date'].isoformat()}#{name}")
                esc.last_date = ep[-1]["date"]
                esc.metrics["episode_start"] = ep[0]["date"].isoformat()
                yield esc


def monotony(days: list[Row], cfg: dict[str, Any], reminder_days: int) -> Iterator[Finding]:
    limit = float(cfg["monotony"])

    def make(row: Row, key: str) -> Finding:
        m = float(row["monotony"])
        msg = (
            f"Your last 7 days were very uniform: training monotony {m:.1f} (average daily load divided by its day-to-day "
            f"variation). Hard days without easy days in between leave your legs little room to recover."
        )
        metrics = {"monotony": round(m, 2), "strain": None if row["strain"] is None else round(row["strain"], 1),
                   "method": "Foster 1998: mean / SD of the last 7 daily loads"}
        return Finding("monotony", "caution", key, row["date"], metrics, msg, advice_for("monotony"))

    for ep in day_episodes(days, lambda row: row["monotony"] is not None and row["monotony"] >= limit):
        yield from _with_reminders("monotony", ep, reminder_days, make)


def no_rest(days: list[Row], cfg: dict[str, Any], reminder_days: int) -> Iterator[Finding]:
    limit = int(cfg["run_streak"])

    def make(row: Row, key: str) -> Finding:
        n = int(row["run_streak"])
        msg = f"You have trained {n} days in a row without a rest day. Legs adapt on the rest days, not during the runs."
        metrics = {"run_streak": n, "method": "consecutive days with at least one activity"}
        return Finding("no_rest", "caution", key, row["date"], metrics, msg, advice_for("no_rest"))

    for ep in day_episodes(days, lambda row: row["run_streak"] >= limit):
        yield from _with_reminders("no_rest", ep, reminder_days, make)


def _breaks(active_days: list[date], min_gap: int) -> list[tuple[date, date]]:
    """(last day before, first day back) for each gap of at least ``min_gap`` days without activity."""
    out = []
    for before, after in zip(active_days, active_days[1:]):
        if (after - before).days - 1 >= min_gap:
            out.append((before, after))
    return out


def comeback(days: list[Row], active_days: list[date], cfg: dict[str, Any]) -> Iterator[Finding]:
    """One finding per break: the first day within ``within_days`` of the return when the ratio reaches ``acwr``."""
    limit, within = float(cfg["acwr"]), int(cfg["within_days"])
    for before, back in _breaks(active_days, int(cfg["break_days"])):
        for row in days:
            offset = (row["date"] - back).days
            if offset < 0 or offset >= within:
                continue
            r = row["acwr_ewma"] if row["acwr_ewma"] is not None else row["acwr"]
            if r is None or r < limit:
                continue
            gap = (back - before).days - 1
            msg = (
                f"You came back {offset} days ago after a {gap}-day break, and your load over the last 7 days is already "
                f"{describe_change(r)} your 4-week average (ratio {r:.2f}). After time off, legs have lost some of their "
                f"conditioning, so the same runs weigh more than before the break."
            )
            metrics = {"acwr_ewma": round(r, 3), "acute": round(row["acute"], 1), "chronic": round(row["chronic"], 1),
                       "break_days": gap, "returned_on": back.isoformat(), "method": EWMA_METHOD}
            found = Finding("comeback", "warning", back.isoformat(), row["date"], metrics, msg, advice_for("comeback"))
            found.last_date = row["date"]
            yield found
            break
