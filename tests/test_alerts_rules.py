"""Each rule on histories built in the database, and one alert per episode."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, delete

from analysis.load_ratio import reentry_plan, weekly_load_ratio
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import list_alerts
from heavylegs.alerts.tables import alerts
from heavylegs.metrics.tables import daily_metrics
from heavylegs.service.jobs import alerts_context
from heavylegs.settings import Settings
from tests.alerts_support import (
    NOW,
    TODAY,
    add_activity,
    add_athlete,
    add_days,
    add_run,
    add_source,
    daily_rows,
    only_rule,
)


def _alerts(engine: Engine, rule: str) -> list[dict]:
    return sorted((a for a in list_alerts(engine) if a["rule"] == rule), key=lambda a: (a["date"], a["id"]))


def _check_daily(engine: Engine, s: Settings, first: date, last: date) -> None:
    """One check per day at noon, as the service would run them."""
    d = first
    while d <= last:
        check(engine, alerts_context(s), NOW - (TODAY - d))
        d += timedelta(days=1)


def test_weekly_load_ratio_by_hand() -> None:
    loads = [50.0] * 49 + [70.0] * 7
    out = weekly_load_ratio(loads)
    assert np.isnan(out["ratio"][33]) and out["ratio"][34] == pytest.approx(1.0)  # defined from day 7 + 28 - 1
    # Day 54: six days at 70 and one at 50 over four reference weeks of 350.
    assert (out["load_7d"][54], out["weekly_mean"][54]) == (470.0, 350.0)
    assert out["ratio"][54] == pytest.approx(470 / 350)
    # Day 55: the reference is days 21..48 (all 50); the peak looks at the 7-day sums ending on days 0..48.
    assert out["ratio"][55] == pytest.approx(1.4) and out["peak_7d"][55] == 350.0
    # The peak needs a 7-day sum ending at least 7 days back: day 7 sees only day 0's (50).
    assert np.isnan(out["peak_7d"][6]) and out["peak_7d"][7] == 50.0 and out["peak_7d"][20] == 350.0
    plan = reentry_plan(420.0, [0, 1, 2, 8])
    assert plan.tolist() == pytest.approx([210.0, 231.0, 254.1, 420.0])


def test_load_spike_is_one_episode_that_escalates(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    s = only_rule(settings, "load_spike")
    # 7 easy weeks at 50 a day, then three heavier weeks (70, 85, 100 a day), then easy again.
    loads = [50.0] * 49 + [70.0] * 7 + [85.0] * 7 + [100.0] * 7 + [50.0] * 14
    rows = add_days(engine, me, loads)
    day = lambda i: rows[i]["date"]  # noqa: E731
    _check_daily(engine, s, day(45), day(len(loads) - 1))
    found = _alerts(engine, "load_spike")
    # By hand: day 53 = 450 / 350 = 1.286 >= caution 1.28 (and 450 > 1.05 x the 8-week peak 350): caution. The ratio then
    # dips to 1.42 and climbs: day 60 = 565 / 375 = 1.507, the warning. Day 72 is 550 / 483.75 = 1.14; from
    # day 73 (500 / 496.25 = 1.01) it stays below 1.1, and seven such days close the episode. One episode,
    # two alerts, never the same level twice.
    assert [(a["date"], a["severity"], a["state"]) for a in found] == [
        (day(53).isoformat(), "caution", "queued"), (day(60).isoformat(), "warning", "queued")]
    first, second = found
    assert first["metrics"] == {"ratio": 1.29, "load_7d": 450, "weekly_avg_4w": 350, "peak_7d_8w": 350,
                                "method": "sum of the last 7 days / mean of the four 7-day sums before them"}
    # The sentence shows exactly the numbers of the metrics.
    assert "was 450, 29% above your average week over the 4 weeks before (350; ratio 1.29)" in first["message"]
    assert "not a chance of injury" in first["message"] and "probab" not in first["message"].lower()
    assert second["metrics"]["ratio"] == 1.51 and second["metrics"]["episode_start"] == day(53).isoformat()
    assert f"kept rising since {day(53).isoformat()}." in second["message"]
    assert not any("physiotherapist" in a for a in first["advice"])  # no doctor paragraph for a load caution
    assert [(d["channel"], d["status"]) for d in first["deliveries"]] == [("local", "pending")]


def test_an_episode_first_seen_late_sends_only_its_latest_alert(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 49 + [70.0] * 7 + [85.0] * 7)
    summary = check(engine, alerts_context(only_rule(settings, "load_spike")), NOW)
    found = _alerts(engine, "load_spike")
    assert [(a["severity"], a["state"]) for a in found] == [("caution", "superseded"), ("warning", "queued")]
    assert summary.queued == 1 and found[0]["deliveries"] == []
    assert "from " + found[1]["date"] + " to " + TODAY.isoformat() in found[1]["message"]


def test_an_ordinary_week_with_a_long_sunday_run_raises_nothing(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    week = [0.0, 60.0, 40.0, 60.0, 0.0, 40.0, 200.0]  # the long run on Sunday is half the week's load
    rows = add_days(engine, me, week * 12)
    # The EWMA 7/28 ratio swings with the rhythm and crosses the caution line on the Sundays...
    assert max(r["acwr_ewma"] for r in rows[28:]) >= 1.3
    check(engine, alerts_context(only_rule(settings, "load_spike", "monotony", "no_rest")), NOW)
    assert _alerts(engine, "load_spike") == []  # ...the weekly sums do not move
    ewma = only_rule(settings, "load_spike").with_overrides({"alerts.rules.load_spike.ratio": "ewma"})
    check(engine, alerts_context(ewma), NOW)  # the old ratio is still there, for comparison
    assert _alerts(engine, "load_spike") and _alerts(engine, "load_spike")[0]["metrics"]["method"] == "EWMA 7/28 (Williams 2017)"


def test_monotony_and_no_rest_episodes(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    loads = [60.0, 62.0] * 5 + [0.0] + [60.0, 62.0] * 4
    rows = add_days(engine, me, loads)
    # Every full week here has mean/SD >= 2, even the ones holding the rest day.
    assert all(r["monotony"] >= 2.0 for r in rows[6:])
    check(engine, alerts_context(only_rule(settings, "monotony")), NOW - timedelta(days=30))
    check(engine, alerts_context(only_rule(settings, "monotony")), NOW)
    assert [a["date"] for a in _alerts(engine, "monotony")] == [rows[6]["date"].isoformat()]
    with engine.begin() as conn:
        conn.execute(delete(alerts))
    check(engine, alerts_context(only_rule(settings, "monotony", "no_rest")), NOW)
    # With no_rest on, the streak days (from its 7th day, index 6) and the 6 days after them are said once,
    # by no_rest; day 16 is neither (its window holds the rest day of index 10) and is still uniform.
    assert [a["date"] for a in _alerts(engine, "monotony")] == [rows[16]["date"].isoformat()]
    rest = _alerts(engine, "no_rest")
    # Streak reaches 7 on day index 6; after the rest day (index 10) again on index 17.
    assert [a["date"] for a in rest] == [rows[6]["date"].isoformat(), rows[17]["date"].isoformat()]
    assert rest[0]["metrics"]["run_streak"] == 7


def test_varied_training_is_not_monotonous(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [100.0, 0.0, 40.0, 80.0, 0.0, 120.0, 30.0] * 4)
    check(engine, alerts_context(only_rule(settings, "monotony", "no_rest")), NOW)
    assert list_alerts(engine) == []


def test_late_fade_one_alert_per_qualifying_run(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    d = TODAY - timedelta(days=1)
    hit_abs = add_run(engine, me, d, hour=6, fade_pct=9.0)
    hit_base = add_run(engine, me, d, hour=8, fade_pct=5.0, baseline_median=1.0, baseline_mad=0.5)
    add_run(engine, me, d, hour=10, fade_pct=5.0, baseline_median=3.0, baseline_mad=0.5)  # only 2 above usual
    add_run(engine, me, d, hour=12, fade_pct=5.0, baseline_median=1.0, baseline_mad=3.0)  # within 2 MAD
    add_run(engine, me, d, hour=14, fade_pct=12.0, distance_m=6000.0)  # too short
    add_run(engine, me, d, hour=16, fade_pct=12.0, steady=False)  # intervals, not a steady run
    check(engine, alerts_context(only_rule(settings, "late_fade")), NOW)
    found = _alerts(engine, "late_fade")
    assert sorted(a["activity_id"] for a in found) == sorted([hit_abs, hit_base])
    by_id = {a["activity_id"]: a for a in found}
    assert by_id[hit_abs]["metrics"]["fade_pct"] == 9.0 and by_id[hit_abs]["metrics"]["distance_km"] == 10.0


def test_recurring_fade_is_one_episode(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    fades = [6.0, 1.0, 5.5, 2.0, 7.0, 6.0, 0.5, 0.5, 0.5, 0.5]
    ids = [add_run(engine, me, TODAY - timedelta(days=20 - 2 * i), fade_pct=f) for i, f in enumerate(fades)]
    add_run(engine, me, TODAY - timedelta(days=19), fade_pct=9.0, distance_m=5000.0)  # short: not in the window
    check(engine, alerts_context(only_rule(settings, "recurring_fade")), NOW)
    found = _alerts(engine, "recurring_fade")
    # 3 of 5 first holds at the 5th run; still holds at the 6th and 7th (same episode), clears after.
    assert [a["activity_id"] for a in found] == [ids[4]]
    assert found[0]["metrics"]["runs_fading"] == 3


def test_decoupling_episodes(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    day = lambda n: TODAY - timedelta(days=n)  # noqa: E731
    first = add_run(engine, me, day(10), moving_s=3000.0, decoupling_pct=7.0)
    add_run(engine, me, day(9), moving_s=1800.0, decoupling_pct=2.0)  # 30 min: not eligible, does not clear
    add_run(engine, me, day(8), moving_s=3000.0, decoupling_pct=6.0)  # same episode
    add_run(engine, me, day(6), moving_s=3000.0, decoupling_pct=2.0)  # clears
    again = add_run(engine, me, day(2), moving_s=2400.0, decoupling_pct=8.0)
    check(engine, alerts_context(only_rule(settings, "decoupling")), NOW)
    assert [a["activity_id"] for a in _alerts(engine, "decoupling")] == [first, again]


def test_source_stalled(engine: Engine, settings: Settings) -> None:
    keen, casual = add_athlete(engine, "keen"), add_athlete(engine, "casual")
    quiet_since = NOW - timedelta(days=5)
    for i in range(16):  # 4 a week in the 4 weeks before the silence
        add_activity(engine, keen, (quiet_since - timedelta(days=1 + 28 * i / 16)).date())
    for i in range(4):  # 1 a week
        add_activity(engine, casual, (quiet_since - timedelta(days=1 + 7 * i)).date())
    add_source(engine, keen, "watch-folder", last_new=quiet_since)
    add_source(engine, keen, "strava", status="needs_reauth", last_new=NOW)
    add_source(engine, keen, "old", status="error", enabled=False, last_error="boom")
    add_source(engine, casual, "casual-folder", last_new=quiet_since)
    add_source(engine, casual, "fresh", last_new=NOW - timedelta(days=1))
    check(engine, alerts_context(only_rule(settings, "source_stalled")), NOW)
    found = _alerts(engine, "source_stalled")
    got = sorted((a["athlete"], a["metrics"]["source"], a["severity"]) for a in found)
    assert got == [("keen", "strava", "caution"), ("keen", "watch-folder", "info")]
    quiet = next(a for a in found if a["metrics"]["source"] == "watch-folder")
    assert quiet["metrics"]["activities_per_week_before"] == 4.0
    # Same state on the next check: the same episode, nothing new.
    assert check(engine, alerts_context(only_rule(settings, "source_stalled")), NOW + timedelta(hours=1)).queued == 0


def test_episode_dedup_reanalysis_and_recurrence(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    s = only_rule(settings, "no_rest")
    add_days(engine, me, [50.0] * 9, end=TODAY - timedelta(days=1))
    first = check(engine, alerts_context(s), NOW - timedelta(days=1))
    assert first.queued == 1
    # Re-analysis rewrites the same history: same ids, nothing new.
    with engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    add_days(engine, me, [50.0] * 10)  # ... and the streak goes on one more day
    again = check(engine, alerts_context(s), NOW)
    assert (again.queued, again.known) == (0, 1)
    # Cleared by a rest day, then back: a new episode, a new alert.
    with engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    later = TODAY + timedelta(days=8)
    add_days(engine, me, [50.0] * 10 + [0.0] + [50.0] * 7, end=later)
    assert check(engine, alerts_context(s), NOW + timedelta(days=8)).queued == 1
    assert len(_alerts(engine, "no_rest")) == 2


def test_reminders_and_disabled_rules(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 20)
    assert check(engine, alerts_context(only_rule(settings)), NOW).findings == 0  # every rule off
    s = only_rule(settings, "no_rest").with_overrides({"alerts.reminder_days": 5})
    check(engine, alerts_context(s), NOW)
    found = _alerts(engine, "no_rest")
    # Streak hits 7 on day index 6 and holds to index 19: 13 days, so reminder number 2 (index 16).
    assert len(found) == 2
    assert found[1]["metrics"]["episode_start"] == found[0]["date"]
    assert found[1]["date"] == (TODAY - timedelta(days=3)).isoformat()


def test_days_are_the_athletes_local_days(engine: Engine, settings: Settings) -> None:
    kiwi = add_athlete(engine, "kiwi")
    # At 12:00 UTC it is already tomorrow at UTC+14: the 7th day of the streak has begun there.
    local_today = TODAY + timedelta(days=1)
    add_days(engine, kiwi, [50.0] * 7, end=local_today)
    s = only_rule(settings, "no_rest").with_overrides({"athletes.kiwi.timezone": "Pacific/Kiritimati"})
    check(engine, alerts_context(s), NOW)
    assert [a["date"] for a in _alerts(engine, "no_rest")] == [local_today.isoformat()]


def test_load_spike_reminder_inside_a_hysteresis_episode() -> None:
    from heavylegs.alerts.rules import load_spike

    rows = daily_rows([50.0] * 49 + [70.0] * 7 + [85.0] * 7 + [100.0] * 7 + [50.0] * 14, date(2024, 1, 1))
    cfg = {"caution": 1.3, "warning": 1.5, "urgent": 2.0}
    found = list(load_spike(rows, cfg, 10))
    start = rows[54]["date"].isoformat()
    # The episode runs from day 54 to day 72 (18 days): one reminder, for the period from day 64 on.
    assert [f.episode_key for f in found] == [start, f"{start}#warning", f"{start}#r1"]
    assert found[2].date == rows[64]["date"] and found[2].severity == "warning"
    assert all(f.last_date == rows[72]["date"] for f in found)


def test_a_blip_before_a_ramp_escalates_on_the_second_rise() -> None:
    from heavylegs.alerts.rules import load_spike

    # 7 weeks at 50 a day, a one-off week at 66 (the blip), then straight into a ramp at 68, 90, 110 a day.
    blip = [50.0] * 49 + [66.0] * 7
    loads = blip + [68.0] * 7 + [90.0] * 7 + [110.0] * 7 + [50.0] * 14
    rows = daily_rows(loads, date(2024, 1, 1))
    cfg = {"caution": 1.3, "warning": 1.5, "urgent": 2.0}
    idx = lambda fs: [((f.date - rows[0]["date"]).days, f.severity, f.episode_key) for f in fs]  # noqa: E731
    start = rows[55]["date"].isoformat()
    # By hand: day 55 = 462 / 350 = 1.32 opens the blip's caution (462 > 1.05 x the 8-week peak 350). Days 58-62
    # are back under 1.3 (day 58: 468 / 362 = 1.29) but never under 1.1, so the episode stays open; its top
    # before the dip is day 60's 472 (the third day under caution). Day 63 (the ramp's 8th day): 498 / 382.5 =
    # 1.30, 498 > 1.05 x 464 (the 8-week peak) and > 1.05 x 472: the load rises a second time, so the open
    # episode escalates to a warning that day, although 498 < 1.2 x 464 (a plain warning needs both).
    found = list(load_spike(rows, cfg, 0))
    assert idx(found) == [(55, "caution", start), (63, "warning", f"{start}#warning")]
    assert found[1].metrics["top_7d_before_dip"] == 472 and found[1].metrics["ratio"] == 1.3
    assert "risen past the heaviest 7 days earlier in this episode (472)" in found[1].message
    assert "top_7d_before_dip" not in found[0].metrics and "not a chance of injury" in found[1].message
    # Without it the ramp shows only when the ratio itself reaches 1.5 (day 68: 608 / 405 = 1.50).
    off = idx(load_spike(rows, {**cfg, "renewed_rise_days": 0}, 0))
    assert off == [(55, "caution", start), (68, "warning", f"{start}#warning")]
    # A blip that falls back and stays there raises its caution and nothing else.
    flat = daily_rows(blip + [50.0] * 35, date(2024, 1, 1))
    assert idx(load_spike(flat, cfg, 0)) == [(55, "caution", start)]
    # A plain ramp is still one episode, caution then warning, never the same level twice.
    ramp = daily_rows([50.0] * 49 + [70.0] * 7 + [85.0] * 7 + [100.0] * 7 + [50.0] * 14, date(2024, 1, 1))
    assert [f.severity for f in load_spike(ramp, cfg, 0)] == ["caution", "warning"]
