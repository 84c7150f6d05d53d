"""Quiet hours: windows that wrap midnight or not, deferral to the window's end, urgent alerts going out anyway."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from heavylegs.alerts.delivery import deliver_due
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import list_alerts
from heavylegs.alerts.quiet import parse_quiet
from heavylegs.alerts.rules import load_spike
from heavylegs.alerts.tables import alert_attempts, alert_deliveries
from heavylegs.service.jobs import alerts_context
from heavylegs.settings import ConfigError, Settings
from tests.alerts_support import NOW, add_athlete, add_days, daily_rows, only_rule, with_channels
from tests.receivers import WebhookReceiver

NY = ZoneInfo("America/New_York")  # UTC-4 in June: NOW (12:00 UTC) is 08:00 there
SPIKE_CFG = {"caution": 1.3, "warning": 1.5, "urgent": 2.0, "min_history_days": 28}


def _at(zone: ZoneInfo, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=zone)


def test_wrapping_window_covers_late_evening_and_early_morning() -> None:
    q = parse_quiet("22:00-07:00")
    assert q is not None and q.wraps
    assert q.until(_at(NY, 29, 23, 30), NY) == _at(NY, 30, 7)  # evening: ends tomorrow morning
    assert q.until(_at(NY, 30, 6, 59), NY) == _at(NY, 30, 7)  # early morning: ends this morning
    assert q.until(_at(NY, 30, 7), NY) is None  # the end is no longer quiet
    assert q.until(_at(NY, 30, 21, 59), NY) is None
    # Given in UTC, read in the athlete's zone: 03:00 UTC is 23:00 in New York.
    assert q.until(datetime(2024, 6, 30, 3, tzinfo=timezone.utc), NY) == _at(NY, 30, 7)


def test_window_within_one_day() -> None:
    q = parse_quiet("13:00-15:30")
    assert q is not None and not q.wraps
    assert q.until(_at(NY, 30, 14), NY) == _at(NY, 30, 15, 30)
    assert q.until(_at(NY, 30, 12, 59), NY) is None and q.until(_at(NY, 30, 15, 30), NY) is None
    assert q.until(_at(NY, 30, 23), NY) is None


def test_awake_time_leaves_out_quiet_windows() -> None:
    q = parse_quiet("22:00-07:00")
    assert q is not None
    start, end = _at(NY, 29, 21), _at(NY, 30, 9)  # 12 h, of which 9 h quiet
    assert q.awake_s(start.timestamp(), end.timestamp(), NY) == pytest.approx(3 * 3600)
    two_days = q.awake_s(_at(NY, 28, 12).timestamp(), _at(NY, 30, 12).timestamp(), NY)
    assert two_days == pytest.approx(2 * 15 * 3600)
    assert parse_quiet("") is None and parse_quiet("  ") is None


@pytest.mark.parametrize("value", ["22-07", "22:00", "25:00-07:00", "22:00-07:60", "night", "07:00-07:00", "22:00-07:00-08:00"])
def test_malformed_quiet_hours_is_a_clear_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="alerts.quiet_hours"):
        parse_quiet(value)


def test_urgent_severity_from_the_urgent_threshold() -> None:
    # 42 easy days, then 200 (7-day sum 500 / 350 = 1.43, caution) and 600 (1050 / 350 = 3.0): straight to urgent.
    rows = daily_rows([50.0] * 42 + [200.0, 600.0], date(2024, 1, 1))
    found = list(load_spike(rows, SPIKE_CFG, 0))
    assert [(f.severity, f.episode_key.split("#")[-1]) for f in found] == [("caution", "2024-02-12"), ("urgent", "urgent")]
    assert "very steep rise" in found[1].message
    off = list(load_spike(rows, SPIKE_CFG | {"urgent": 0}, 0))
    assert [f.severity for f in off] == ["caution", "warning"]


def test_quiet_hours_defer_caution_but_not_urgent(engine: Engine, settings: Settings) -> None:
    with WebhookReceiver(secret="q") as hook:
        s = only_rule(with_channels(settings, {"name": "hook", "kind": "webhook", "url": hook.url, "secret": "q"},
                                    quiet_hours="22:00-09:00", retry_max_age_h=1, retry_base_s=60, webhook_timeout_s=2),
                      "load_spike").with_overrides({"athlete.timezone": "America/New_York"})
        add_days(engine, add_athlete(engine, "me"), [50.0] * 42 + [200.0])  # caution (7-day sum 500 / 350)
        add_days(engine, add_athlete(engine, "you"), [50.0] * 42 + [600.0])  # urgent
        night = NOW - timedelta(hours=4)  # 04:00 in New York
        assert check(engine, alerts_context(s), night).queued == 2
        by_sev = {a["severity"]: a["id"] for a in list_alerts(engine)}
        assert set(by_sev) == {"caution", "urgent"}

        first = deliver_due(engine, alerts_context(s), night)
        assert (first.delivered, first.deferred, first.attempted) == (1, 1, 1)
        assert hook.unique_ids() == [by_sev["urgent"]] and hook.received[0].signature_ok
        end = datetime(2024, 6, 30, 13, tzinfo=timezone.utc)  # 09:00 in New York
        with engine.connect() as conn:
            row = conn.execute(select(alert_deliveries).where(alert_deliveries.c.alert_id == by_sev["caution"])).one()
            assert conn.execute(select(alert_attempts).where(alert_attempts.c.delivery_id == row.id)).all() == []
        assert (row.status, row.attempts, row.next_attempt_ts) == ("pending", 0, end.timestamp())

        # The explicit flush (force) ignores backoff but still respects quiet hours; quiet=False does not.
        assert deliver_due(engine, alerts_context(s), night + timedelta(hours=1), force=True).deferred == 1
        assert deliver_due(engine, alerts_context(s), end - timedelta(seconds=1)).attempted == 0

        # 5 h after queueing with retry_max_age_h = 1: the quiet time does not count, so a failure retries.
        hook.fail_next(1, status=503)
        at_end = deliver_due(engine, alerts_context(s), end)
        assert (at_end.retrying, at_end.failed, at_end.deferred) == (1, 0, 0)
        # Two awake hours later the max age is used up.
        hook.fail_next(1, status=503)
        late = deliver_due(engine, alerts_context(s), end + timedelta(hours=2))
        assert late.failed == 1
        [caution] = [a for a in list_alerts(engine) if a["severity"] == "caution"]
        assert "not counting quiet hours" in caution["deliveries"][0]["last_error"]
        assert hook.unique_ids() == [by_sev["urgent"]]


def test_flush_with_quiet_off_sends_during_quiet_hours(engine: Engine, settings: Settings) -> None:
    s = only_rule(with_channels(settings, {"name": "log", "kind": "file", "console": False}, quiet_hours="00:00-23:59"), "load_spike")
    add_days(engine, add_athlete(engine), [50.0] * 42 + [200.0])
    check(engine, alerts_context(s), NOW)
    assert deliver_due(engine, alerts_context(s), NOW, force=True).deferred == 1
    sent = deliver_due(engine, alerts_context(s), NOW, force=True, quiet=False)
    assert (sent.delivered, sent.deferred, sent.pending) == (1, 0, 0)
    assert (settings.data_dir / "alerts.jsonl").read_text().count('"load_spike"') == 1
