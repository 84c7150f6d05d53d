"""The default file channel, Apprise, channel config errors, and a backfilled year that must not flood."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from heavylegs.alerts.delivery import deliver_due, send_test
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import channel_status, list_alerts
from heavylegs.alerts.transports.registry import build_channels
from heavylegs.service.jobs import alerts_context, channel_env
from heavylegs.settings import ConfigError, Settings, load_settings
from tests.alerts_support import (
    NOW,
    TODAY,
    add_athlete,
    add_days,
    add_run,
    only_rule,
    with_channels,
)
from tests.receivers import WebhookReceiver


def test_default_file_channel_writes_json_lines_and_console(lite: tuple[Engine, Settings], capsys: pytest.CaptureFixture[str]) -> None:
    engine, settings = lite
    [chan] = build_channels(channel_env(settings))
    assert (chan.name, chan.kind) == ("local", "file")
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 8)
    s = only_rule(settings, "no_rest")
    check(engine, alerts_context(s), NOW)
    assert deliver_due(engine, alerts_context(s), NOW).delivered == 1
    lines = (settings.data_dir / "alerts.jsonl").read_text().splitlines()
    [record] = [json.loads(line) for line in lines]
    assert record["rule"] == "no_rest" and record["schema"] == "heavylegs.alert.v1"
    assert record["id"] == list_alerts(engine)[0]["id"]
    assert "no rest" in capsys.readouterr().err


def test_apprise_channel_posts_to_a_loopback_json_endpoint(lite: tuple[Engine, Settings]) -> None:
    engine, settings = lite
    with WebhookReceiver() as hook:
        url = hook.url.replace("http://", "json://")
        s = with_channels(settings, {"name": "phone", "kind": "apprise", "url": url})
        ident, summary = send_test(engine, alerts_context(s), NOW)
        assert summary.delivered == 1
        [got] = hook.received
        assert "TEST" in got.json["title"] and ident in got.json["message"]


def test_apprise_unknown_url_is_permanent_and_not_echoed(lite: tuple[Engine, Settings]) -> None:
    engine, settings = lite
    s = with_channels(settings, {"name": "phone", "kind": "apprise", "url": "nosuchscheme://user:pa55word@host"})
    _, summary = send_test(engine, alerts_context(s), NOW)
    assert summary.failed == 1
    [chan] = channel_status(engine, channel_env(s))
    assert chan["permanent_error"] and "pa55word" not in chan["permanent_error"]


@pytest.mark.parametrize("conf,message", [
    ({"kind": "pigeon"}, "unknown kind"),
    ({"kind": "webhook", "url": "ftp://x"}, "http(s) url"),
    ({"kind": "email"}, "needs 'to'"),
    ({"kind": "email", "to": "a@b", "security": "ssl3"}, "security"),
])
def test_bad_channel_config_is_a_clear_error(tmp_path: Path, conf: dict, message: str) -> None:
    settings = load_settings(data_dir=tmp_path, environ={})
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_channels(channel_env(with_channels(settings, conf)))


def test_backfilled_year_sends_one_summary_plus_recent(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    week = [60.0, 0.0, 60.0, 60.0, 0.0, 90.0, 40.0]
    loads = (week * 53)[:365]
    for start in range(30, 331, 60):  # a hard block every two months: load spikes
        loads[start : start + 7] = [200.0] * 7
    add_days(engine, me, loads)
    old_runs = [add_run(engine, me, TODAY - timedelta(days=d), fade_pct=9.0) for d in range(360, 20, -30)]
    recent = add_run(engine, me, TODAY - timedelta(days=1), fade_pct=9.0)
    with WebhookReceiver() as hook:
        s = with_channels(settings, {"name": "hook", "kind": "webhook", "url": hook.url}, {"name": "local", "kind": "file", "console": False})
        first = check(engine, alerts_context(s), NOW)
        assert first.suppressed >= len(old_runs) + 6  # every old late fade and every old spike
        assert first.summaries == 1
        assert deliver_due(engine, alerts_context(s), NOW).pending == 0
        sent = [r.json for r in hook.received]
        summaries = [a for a in sent if a["rule"] == "history_summary"]
        individual = [a for a in sent if a["rule"] != "history_summary"]
        assert len(summaries) == 1 and summaries[0]["metrics"]["suppressed"] == first.suppressed
        # Only what is still going on or happened in the last 3 days goes out on its own:
        # the fade of yesterday's run, and the recurring fade that has held through to it.
        assert {(a["rule"], a["activity_id"]) for a in individual if a["rule"] == "late_fade"} == {("late_fade", recent)}
        assert {a["rule"] for a in individual} <= {"late_fade", "recurring_fade"}
        assert len(individual) <= 2
        file_lines = (settings.data_dir / "alerts.jsonl").read_text().splitlines()
        assert len(file_lines) == len(sent)
        # Checking again (the service does this every minute) adds nothing.
        again = check(engine, alerts_context(s), NOW + timedelta(minutes=1))
        assert (again.queued, again.suppressed, again.summaries) == (0, 0, 0)
        assert deliver_due(engine, alerts_context(s), NOW + timedelta(minutes=1)).attempted == 0
    states = [a["state"] for a in list_alerts(engine)]
    assert states.count("suppressed") == first.suppressed
