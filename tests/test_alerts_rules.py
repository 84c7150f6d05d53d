"""Each rule on histories built in the database, and one alert per episode."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete

from heavylegs.alerts.engine import check
from heavylegs.alerts.query import list_alerts
from heavylegs.metrics.tables import daily_metrics
from heavylegs.settings import Settings
from tests.test_alerts_support import NOW, TODAY, add_activity, add_athlete, add_days, add_run, add_source, only_rule


def _alerts(engine: Engine, rule: str) -> list[dict]:
    return sorted((a for a in list_alerts(engine) if a["rule"] == rule), key=lambda a: (a["date"], a["id"]))


def test_load_spike_after_28_days_with_escalation(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    s = only_rule(settings, "load_spike")
    # 42 easy days, then a week at three times the load, checked day by day as the
    # service would. The first days after a cold start have acute >> chronic; the
    # 28-day history rule must hide them.
    spike1, spike2 = TODAY - timedelta(days=6), TODAY - timedelta(days=5)
    rows = add_days(engine, me, [50.0] * 42 + [150.0], end=spike1)
    assert rows[0]["acwr_ewma"] > 3  # the cold start really does look like a spike
    day = lambda d: NOW - (TODAY - d)  # noqa: E731 - noon on day d
    assert check(engine, s, day(spike1)).queued == 1
    with engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    add_days(engine, me, [50.0] * 42 + [150.0] * 7)
    for d in range(5, -1, -1):
        check(engine, s, NOW - timedelta(days=d))
    found = _alerts(engine, "load_spike")
    # By hand: day 1 of the spike acute 75.0 / chronic 54.6 = 1.37 (caution),
    # day 2 acute 93.8 / chronic 61.2 = 1.53 (warning): one escalation, then quiet.
    assert [(a["date"], a["severity"], a["state"]) for a in found] == [
        (spike1.isoformat(), "caution", "queued"), (spike2.isoformat(), "warning", "queued")]
    assert 1.3 <= found[0]["metrics"]["acwr_ewma"] < 1.5
    assert found[0]["metrics"]["method"] == "EWMA 7/28 (Williams 2017)"
    assert "above your 4-week average" in found[0]["message"]
    assert "risk" not in found[0]["message"].lower() and "probab" not in found[0]["message"].lower()
    assert found[0]["advice"]
    assert [(d["channel"], d["status"]) for d in found[0]["deliveries"]] == [("local", "pending")]


def test_an_episode_first_seen_late_sends_only_its_latest_alert(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 42 + [150.0] * 7)
    summary = check(engine, only_rule(settings, "load_spike"), NOW)
    found = _alerts(engine, "load_spike")
    assert [(a["severity"], a["state"]) for a in found] == [("caution", "superseded"), ("warning", "queued")]
    assert summary.queued == 1 and found[0]["deliveries"] == []
    assert "from " + found[1]["date"] + " to " + TODAY.isoformat() in found[1]["message"]


def test_monotony_and_no_rest_episodes(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    loads = [60.0, 62.0] * 5 + [0.0] + [60.0, 62.0] * 4
    rows = add_days(engine, me, loads)
    # Every full week here has mean/SD >= 2, even the ones holding the rest day.
    assert all(r["monotony"] >= 2.0 for r in rows[6:])
    check(engine, only_rule(settings, "monotony", "no_rest"), NOW)
    mono = _alerts(engine, "monotony")
    assert [a["date"] for a in mono] == [rows[6]["date"].isoformat()]
    rest = _alerts(engine, "no_rest")
    # Streak reaches 7 on day index 6; after the rest day (index 10) again on index 17.
    assert [a["date"] for a in rest] == [rows[6]["date"].isoformat(), rows[17]["date"].isoformat()]
    assert rest[0]["metrics"]["run_streak"] == 7


def test_varied_training_is_not_monotonous(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [100.0, 0.0, 40.0, 80.0, 0.0, 120.0, 30.0] * 4)
    check(engine, only_rule(settings, "monotony", "no_rest"), NOW)
    assert list_alerts(engine) == []


def test_comeback_after_a_break(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    rows = add_days(engine, me, [50.0] * 40 + [0.0] * 20 + [70.0] * 10)
    back = 60
    expected = next(r for r in rows[back:] if r["acwr_ewma"] >= 1.3)
    check(engine, only_rule(settings, "comeback"), NOW)
    found = _alerts(engine, "comeback")
    assert [a["date"] for a in found] == [expected["date"].isoformat()]
    assert found[0]["metrics"]["break_days"] == 20
    assert found[0]["metrics"]["returned_on"] == rows[back]["date"].isoformat()
    assert found[0]["severity"] == "warning"


def test_late_fade_one_alert_per_qualifying_run(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    d = TODAY - timedelta(days=1)
    hit_abs = add_run(engine, me, d, hour=6, fade_pct=9.0)
    hit_base = add_run(engine, me, d, hour=8, fade_pct=5.0, baseline_median=1.0, baseline_mad=0.5)
    add_run(engine, me, d, hour=10, fade_pct=5.0, baseline_median=3.0, baseline_mad=0.5)  # only 2 above usual
    add_run(engine, me, d, hour=12, fade_pct=5.0, baseline_median=1.0, baseline_mad=3.0)  # within 2 MAD
    add_run(engine, me, d, hour=14, fade_pct=12.0, distance_m=6000.0)  # too short
    add_run(engine, me, d, hour=16, fade_pct=12.0, steady=False)  # intervals, not a steady run
    check(engine, only_rule(settings, "late_fade"), NOW)
    found = _alerts(engine, "late_fade")
    assert sorted(a["activity_id"] for a in found) == sorted([hit_abs, hit_base])
    by_id = {a["activity_id"]: a for a in found}
    assert by_id[hit_abs]["metrics"]["fade_pct"] == 9.0 and by_id[hit_abs]["metrics"]["distance_km"] == 10.0


def test_recurring_fade_is_one_episode(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    fades = [6.0, 1.0, 5.5, 2.0, 7.0, 6.0, 0.5, 0.5, 0.5, 0.5]
    ids = [add_run(engine, me, TODAY - timedelta(days=20 - 2 * i), fade_pct=f) for i, f in enumerate(fades)]
    add_run(engine, me, TODAY - timedelta(days=19), fade_pct=9.0, distance_m=5000.0)  # short: not in the window
    check(engine, only_rule(settings, "recurring_fade"), NOW)
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
    check(engine, only_rule(settings, "decoupling"), NOW)
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
    check(engine, only_rule(settings, "source_stalled"), NOW)
    found = _alerts(engine, "source_stalled")
    got = sorted((a["athlete"], a["metrics"]["source"], a["severity"]) for a in found)
    assert got == [("keen", "strava", "caution"), ("keen", "watch-folder", "info")]
    quiet = next(a for a in found if a["metrics"]["source"] == "watch-folder")
    assert quiet["metrics"]["activities_per_week_before"] == 4.0
    # Same state on the next check: the same episode, nothing new.
    assert check(engine, only_rule(settings, "source_stalled"), NOW + timedelta(hours=1)).queued == 0


def test_episode_dedup_reanalysis_and_recurrence(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    s = only_rule(settings, "no_rest")
    add_days(engine, me, [50.0] * 9, end=TODAY - timedelta(days=1))
    first = check(engine, s, NOW - timedelta(days=1))
    assert first.queued == 1
    # Re-analysis rewrites the same history: same ids, nothing new.
    with engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    add_days(engine, me, [50.0] * 10)  # ... and the streak goes on one more day
    again = check(engine, s, NOW)
    assert (again.queued, again.known) == (0, 1)
    # Cleared by a rest day, then back: a new episode, a new alert.
    with engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    later = TODAY + timedelta(days=8)
    add_days(engine, me, [50.0] * 10 + [0.0] + [50.0] * 7, end=later)
    assert check(engine, s, NOW + timedelta(days=8)).queued == 1
    assert len(_alerts(engine, "no_rest")) == 2


def test_reminders_and_disabled_rules(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 20)
    assert check(engine, only_rule(settings), NOW).findings == 0  # every rule off
    s = only_rule(settings, "no_rest").with_overrides({"alerts.reminder_days": 5})
    check(engine, s, NOW)
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
    check(engine, s, NOW)
    assert [a["date"] for a in _alerts(engine, "no_rest")] == [local_today.isoformat()]
