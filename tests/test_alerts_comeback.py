"""comeback against a re-entry plan, load_spike silent after a break, and the words and advice of the day rules."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.engine import check
from heavylegs.alerts.episodes import when
from heavylegs.alerts.query import list_alerts
from heavylegs.service.jobs import alerts_context
from heavylegs.settings import Settings
from tests.alerts_support import NOW, add_athlete, add_days, only_rule
from tests.test_alerts_rules import _alerts, _check_daily

WEEK = [0.0, 60.0, 60.0, 60.0, 0.0, 60.0, 120.0]  # Monday .. Sunday: 360 a week


def _break_history(after: list[float]) -> list[float]:
    """6 ordinary weeks, 5 weeks and a day off (Monday to the Monday after), then ``after`` from a Tuesday."""
    return WEEK * 6 + [0.0] * 36 + after


def test_reckless_comeback_one_alert_on_return_day_escalating(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    loads = _break_history(WEEK[1:] + WEEK * 8)
    rows = add_days(engine, me, loads)
    back = 42 + 36
    _check_daily(engine, only_rule(settings, "comeback", "load_spike"), rows[back - 2]["date"], rows[-1]["date"])
    found = _alerts(engine, "comeback")
    # By hand: before the break 4 x 360 a week, plan week 1 = 180. Return day: 60 against 1.5 days of the
    # plan (180 x 1.25 / 7 = 32.1) = 1.87: a caution today. First whole week back (6 days later): 360 / 180 = 2.0.
    assert [(a["date"], a["severity"]) for a in found] == [
        (rows[back]["date"].isoformat(), "caution"), (rows[back + 6]["date"].isoformat(), "warning")]
    m = found[0]["metrics"]
    assert (m["pre_break_week"], m["load_since_return"], m["plan_allowance"], m["plan_ratio"]) == (360, 60, 32, 1.87)
    assert (m["break_days"], m["returned_on"], m["plan_weeks"]) == (36, rows[back]["date"].isoformat(), [180, 198, 218, 240])
    assert found[0]["message"].startswith("You came back today after a 36-day break.")
    assert found[0]["advice"][0].startswith("A safe re-entry plan, as weekly load: 180, 198, 218, 240")
    assert found[1]["metrics"]["plan_ratio"] == 2.0 and "first full week back" in found[1]["message"]
    # The same event is not also a string of load spikes over a near-zero reference.
    assert _alerts(engine, "load_spike") == []


def test_gentle_comeback_stays_quiet(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    gentle = [0.0, 30.0, 0.0, 30.0, 0.0, 30.0, 0.0] * 8  # three short runs a week
    add_days(engine, me, _break_history(gentle[1:]))
    check(engine, alerts_context(only_rule(settings, "comeback", "load_spike", "no_rest", "monotony")), NOW)
    assert list_alerts(engine) == []


def test_words_and_advice() -> None:
    today = date(2024, 6, 30)
    assert [when(today - timedelta(days=n), today) for n in (0, 1, 3)] == ["today", "yesterday", "3 days ago"]
    assert when(today - timedelta(days=20), today) == "on 2024-06-10"
    doctor = [a for a in advice_for("recurring_fade") if "physiotherapist" in a]
    assert doctor and not any(doctor[0] in advice_for("load_spike", sev) for sev in ("caution", "warning", "urgent"))
    assert doctor[0] not in advice_for("comeback", "caution") and doctor[0] in advice_for("load_spike", "caution", recurring=True)
    assert advice_for("load_spike", "caution") != advice_for("load_spike", "urgent")


def test_checking_daily_or_once_gives_the_same_alerts() -> None:
    from heavylegs.alerts.rules import comeback, load_spike
    from tests.alerts_support import daily_rows

    # A ramp, then a break and a reckless return: every finding depends only on the days up to its own.
    loads = [50.0] * 49 + [70.0] * 7 + [85.0] * 7 + [100.0] * 7 + [50.0] * 14 + [0.0] * 30 + [60.0, 0.0, 70.0] * 10
    rows = daily_rows(loads, date(2024, 1, 1))
    spike_cfg = {"caution": 1.3, "warning": 1.5, "urgent": 2.0}

    def found(upto: int) -> set[tuple[str, str, str]]:
        days = rows[: upto + 1]
        active = [r["date"] for r in days if r["load"] > 0]
        out = list(load_spike(days, spike_cfg, 0)) + list(comeback(days, active, {}))
        return {(f.episode_key, f.severity, f.date.isoformat()) for f in out if f.date is not None}

    daily: set[tuple[str, str, str]] = set()
    for i in range(len(rows)):
        daily |= found(i)
    once = found(len(rows) - 1)
    assert daily == once
    # The ramp's caution and warning, and the comeback's caution (its first week, ~300 against a plan of
    # half of ~500, stays under the warning ratio).
    assert sorted(sev for _, sev, _ in once) == ["caution", "caution", "warning"]
