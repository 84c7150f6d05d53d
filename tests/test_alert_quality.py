"""Issue 10's targets on simulated histories with known truth (one seed each; benchmarks/alert_quality.py runs more).

Every history is written as FIT files, imported with ``heavylegs import`` (CliRunner) and
judged with the check behind ``heavylegs alerts check``; see tests/simyear.py.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.simyear_judge import SEVERITY_ORDER, Outcome, run_scenario

SEED = 1


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    work = tmp_path_factory.mktemp("simyear")
    names = ("healthy", "ramp", "reckless_comeback", "gentle_comeback", "repeated_fading", "no_rest", "terrain")
    return {name: run_scenario(name, SEED, Path(work)) for name in names}


def _day(a: dict[str, Any]) -> date:
    return date.fromisoformat(a["date"])


def _one_escalating_episode(found: list[dict[str, Any]]) -> None:
    """The first alert opens the episode; every later one names it and is more severe than the one before."""
    assert found
    levels = [SEVERITY_ORDER[a["severity"]] for a in found]
    assert levels == sorted(set(levels)), [a["severity"] for a in found]
    start = found[0]["metrics"].get("returned_on", found[0]["date"])  # a comeback is keyed by the return day
    assert [a["metrics"].get("episode_start") for a in found[1:]] == [start] * (len(found) - 1)


def test_healthy_year_is_nearly_silent(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["healthy"]
    assert o.months > 11.5 and len(o.runs) > 200
    assert len(o.alerts) <= 6, [(a["date"], a["rule"], a["severity"]) for a in o.alerts]
    # No run-level alert on a run whose only "problem" is terrain or interval structure.
    by_day = {r.day: r for r in o.runs}
    for a in o.alerts:
        if a["rule"] in ("late_fade", "decoupling"):
            run = by_day[_day(a)]
            assert run.route == "flat" and run.kind != "intervals", (a["date"], a["rule"], run.route, run.kind)
    # Natural late slowdowns of 0-4 % are inside the runner's normal range.
    assert not [a for a in o.alerts if a["rule"] == "late_fade" and a["metrics"].get("fade_pct", 0) < 5.0]


def test_ramp_is_one_escalating_episode_found_within_a_week(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["ramp"]
    assert o.latency_days is not None and o.latency_days <= 7
    spikes = [a for a in o.expected if a["rule"] == "load_spike"]
    _one_escalating_episode(spikes)
    assert [a["severity"] for a in spikes][:2] in (["caution", "warning"], ["warning"], ["caution", "urgent"])
    assert o.severity_reached in ("warning", "urgent")
    assert all("not a chance of injury" in a["message"] for a in spikes)


def test_reckless_comeback_one_alert_on_return_escalating(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["reckless_comeback"]
    assert o.truth.onset is not None and o.latency_days is not None and o.latency_days <= 1
    comebacks = [a for a in o.alerts if a["rule"] == "comeback"]
    _one_escalating_episode(comebacks)
    assert o.severity_reached == "warning"
    back = o.truth.onset
    assert not [a for a in o.alerts if a["rule"] == "load_spike" and back <= _day(a) < back + timedelta(days=56)]
    assert "0 days ago" not in comebacks[0]["message"] and "today" in comebacks[0]["message"]


def test_gentle_comeback_is_at_most_one_guiding_alert(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["gentle_comeback"]
    back = o.truth.onset
    assert back is not None
    window = [a for a in o.alerts if back <= _day(a) < back + timedelta(weeks=8)]
    assert len(window) <= 1
    for a in window:
        assert a["rule"] == "comeback" and a["severity"] in ("info", "caution")
        assert a["advice"][0].startswith("A safe re-entry plan")


def test_repeated_fading_long_runs(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["repeated_fading"]
    fading_days = [r.day for r in o.runs if r.fade_pct >= 10.0]
    assert len(fading_days) == 6
    fades = {_day(a): a for a in o.alerts if a["rule"] == "late_fade"}
    assert sorted(fades) == fading_days
    for a in fades.values():
        if a["metrics"]["fade_pct"] >= 10.0:
            assert a["severity"] == "warning"
    recurring = [a for a in o.alerts if a["rule"] == "recurring_fade"]
    assert recurring and _day(recurring[0]) <= fading_days[2]
    assert any("physiotherapist" in line for line in recurring[0]["advice"])


def test_fourteen_days_without_rest(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["no_rest"]
    onset = o.truth.onset
    assert onset is not None
    streak = [a for a in o.alerts if a["rule"] == "no_rest"]
    assert len(streak) == 1 and onset <= _day(streak[0]) <= onset + timedelta(days=9)
    assert not [a for a in o.alerts if a["rule"] == "monotony"]


def test_terrain_alone_raises_nothing(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["terrain"]
    assert len(o.truth.events) == 4
    on_terrain = [a for a in o.alerts if _day(a) in o.truth.events]
    assert on_terrain == []
    assert not [a for a in o.alerts if a["rule"] in ("late_fade", "decoupling")]
