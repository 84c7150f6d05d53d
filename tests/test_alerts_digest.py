"""The daily digest: once per athlete and local day, through the outbox to real SMTP and webhook receivers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from heavylegs.alerts.digest import send_digest
from heavylegs.alerts.engine import check
from heavylegs.alerts.model import alert_id
from heavylegs.alerts.query import list_alerts
from heavylegs.service import jobs
from heavylegs.service.jobs import alerts_context
from heavylegs.service.scheduler import Scheduler
from heavylegs.settings import ConfigError, Settings
from tests.alerts_support import NOW, TODAY, add_athlete, add_days, add_run, only_rule, with_channels
from tests.helpers import run_cli
from tests.receivers import SmtpReceiver, WebhookReceiver

SECRET = "digest-secret"
LJ = {"athlete.timezone": "Europe/Ljubljana"}  # UTC+2 in June: NOW (12:00 UTC) is 14:00 there


def _history(engine: Engine, name: str = "me") -> int:
    """42 days of training up to today, two runs (the latest fading), one late_fade alert queued an hour ago."""
    me = add_athlete(engine, name)
    add_days(engine, me, [50.0] * 40 + [60.0, 70.0])
    add_run(engine, me, TODAY - timedelta(days=1), fade_pct=3.0, baseline_median=2.5)
    add_run(engine, me, TODAY, fade_pct=9.0, baseline_median=2.5)
    return me


def test_digest_is_queued_once_a_day_and_reaches_smtp_and_webhook(engine: Engine, settings: Settings) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver(secret=SECRET) as hook:
        chans = ({"name": "mail", "kind": "email", "to": "runner@example.org", "host": "127.0.0.1", "port": smtp.port,
                  "security": "none", "chart": True},
                 {"name": "hook", "kind": "webhook", "url": hook.url, "secret": SECRET})
        s = only_rule(with_channels(settings, *chans, digest_time="07:30"), "late_fade").with_overrides(LJ)
        _history(engine)
        assert check(engine, alerts_context(s), NOW - timedelta(hours=1)).queued == 1  # the late_fade on today's run

        first = send_digest(engine, alerts_context(s), NOW)
        assert (first.athletes, first.queued, first.known, first.delivered, first.pending) == (1, 1, 0, 2, 0)
        ident = alert_id("me", "digest", TODAY.isoformat())
        [got] = hook.received
        assert got.signature_ok is True and got.delivery_id == ident and got.headers["x-heavylegs-event"] == "digest"
        body = got.json
        assert (body["rule"], body["severity"], body["date"]) == ("digest", "info", TODAY.isoformat())
        m = body["metrics"]
        assert (m["load_today"], m["load_yesterday"], m["run_streak"]) == (70.0, 60.0, 42)
        assert m["acwr_ewma"] > 1.0 and [r["fade_pct"] for r in m["runs"]] == [9.0, 3.0]
        assert [a["rule"] for a in m["alerts_24h"]] == ["late_fade"]
        # 5 x 50 + 60 + 70 = 380 against four weeks of 350: the sentence and the metrics hold the same numbers.
        assert "was 380, 9% above your average week over the 4 weeks before (350; ratio 1.09)" in body["message"]
        assert (m["load_7d"], m["weekly_avg_4w"], m["load_ratio"]) == (380, 350, 1.09)
        assert "late fade (warning)" in body["message"]
        assert "injur" not in body["message"].lower() and "probab" not in body["message"].lower()

        [mail] = smtp.messages
        assert mail["X-Heavylegs-Alert"] == ident and mail["Subject"] == f"[heavylegs] Daily digest for me on {TODAY.isoformat()}"
        html = mail.get_body(("html",))
        assert html is not None and "<br>" in html.get_content() and 'cid:chart@heavylegs' in html.get_content()
        assert any(part.get_content_type() == "image/png" for part in mail.walk())

        # Again the same local day (a restart, a second cron): nothing new anywhere.
        again = send_digest(engine, alerts_context(s), NOW + timedelta(hours=3))
        assert (again.queued, again.known, again.delivered) == (0, 1, 0)
        assert len(smtp.messages) == 1 and len(hook.received) == 1
        assert [a["id"] for a in list_alerts(engine) if a["rule"] == "digest"] == [ident]

        # The next local day has its own digest, once its digest_time has come (00:30 there is too early).
        assert send_digest(engine, alerts_context(s), NOW + timedelta(hours=10, minutes=30)).not_due == 1
        tomorrow = send_digest(engine, alerts_context(s), NOW + timedelta(hours=20))
        assert tomorrow.queued == 1 and hook.unique_ids()[-1] == alert_id("me", "digest", (TODAY + timedelta(days=1)).isoformat())


def test_digest_waits_for_its_time_skips_athletes_without_data_and_respects_quiet_hours(engine: Engine, settings: Settings) -> None:
    s = with_channels(settings, {"name": "log", "kind": "file", "console": False}, digest_time="15:00").with_overrides(LJ)
    _history(engine)
    add_athlete(engine, "newbie")  # no data at all
    early = send_digest(engine, alerts_context(s), NOW)  # 14:00 in Ljubljana
    assert (early.athletes, early.not_due, early.queued) == (2, 2, 0) and list_alerts(engine) == []
    quiet = s.with_overrides({"alerts.quiet_hours": "15:00-16:00"})
    due = send_digest(engine, alerts_context(quiet), NOW + timedelta(hours=1))  # 15:00: due, but quiet
    assert (due.queued, due.skipped, due.delivered, due.deferred, due.pending) == (1, 1, 0, 1, 1)
    later = send_digest(engine, alerts_context(quiet), NOW + timedelta(hours=2))  # the window is over: the known digest goes out
    assert (later.queued, later.known, later.skipped, later.delivered, later.pending) == (0, 1, 1, 1, 0)
    assert send_digest(engine, alerts_context(settings), NOW).athletes == 0  # digest_time empty: the digest is off


def test_digest_job_and_schedule_through_the_service(engine: Engine, settings: Settings) -> None:
    me = add_athlete(engine)
    add_days(engine, me, [40.0] * 30, end=datetime.now(timezone.utc).date())  # the job uses the real clock
    s = with_channels(settings, {"name": "log", "kind": "file", "console": False}, digest_time="00:00")
    outcome = jobs.digest(engine, s)
    assert outcome.error is None and (outcome.counts["queued"], outcome.counts["delivered"]) == (1, 1)
    assert jobs.digest(engine, s).counts["known"] == 1
    service = Scheduler(engine, s.with_overrides({"athletes.alice.timezone": "America/New_York"}))
    service._add_digest()
    assert sorted(j.id for j in service.scheduler.get_jobs()) == ["digest", "digest:America/New_York"]
    # Like every job it runs at start too, so a digest missed during downtime goes out once.
    assert all(j.next_run_time <= datetime.now(timezone.utc) for j in service.scheduler.get_jobs())
    with pytest.raises(ConfigError, match="alerts.digest_time"):
        Scheduler(engine, s.with_overrides({"alerts.digest_time": "7.30"}))._add_digest()
    with pytest.raises(ConfigError, match="alerts.quiet_hours"):
        Scheduler(engine, s.with_overrides({"alerts.quiet_hours": "late"}))._add_digest()


def test_digest_command_sends_once(tmp_path: Path) -> None:
    from heavylegs.store.db import make_engine, migrate

    db = f"sqlite:///{tmp_path / 'hl.db'}"
    engine = make_engine(db)
    migrate(engine)
    add_days(engine, add_athlete(engine), [50.0] * 30, end=datetime.now(timezone.utc).date())
    engine.dispose()
    with WebhookReceiver(secret=SECRET) as hook:
        cfg = tmp_path / "heavylegs.toml"
        cfg.write_text(f'[alerts]\nquiet_hours = "00:00-23:59"\n[[alerts.channels]]\nname = "hook"\nkind = "webhook"\n'
                       f'url = "{hook.url}"\nsecret = "{SECRET}"\n')
        base = ["--data-dir", str(tmp_path / "data"), "--db", db, "--config", str(cfg), "alerts", "digest"]
        first = run_cli(*base)
        assert first.returncode == 0, first.stderr
        assert "queued 1" in first.stdout and "delivered 1" in first.stdout  # on demand: quiet hours do not hold it
        second = run_cli(*base, "--athlete", "me")
        assert second.returncode == 0 and "queued 0" in second.stdout and "known 1" in second.stdout
        assert len(hook.received) == 1 and hook.received[0].signature_ok
        unknown = run_cli(*base, "--athlete", "nobody")
        assert unknown.returncode == 2 and "no athlete named 'nobody'" in unknown.stderr
