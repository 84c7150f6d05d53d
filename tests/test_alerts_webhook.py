"""The outbox over a real loopback webhook receiver: retries, permanent errors, timeouts, claims."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from heavylegs.alerts.delivery import backoff_s, deliver_due
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import channel_status, list_alerts
from heavylegs.alerts.tables import alert_attempts, alert_deliveries
from heavylegs.service.jobs import alerts_context, channel_env
from heavylegs.settings import Settings
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

SECRET = "hook-secret-123"


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


def _settings(settings: Settings, url: str, **alerts: object) -> Settings:
    chan = {"name": "hook", "kind": "webhook", "url": url, "secret": SECRET}
    opts = {"webhook_timeout_s": 1, "retry_base_s": 10, "retry_max_s": 60} | alerts
    return only_rule(with_channels(settings, chan, **opts), "no_rest", "late_fade")


def _queue(engine: Engine, settings: Settings, runs: int = 0) -> list[str]:
    """One no_rest alert (a 9-day streak up to today) plus ``runs`` late_fade alerts; their ids."""
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 9)
    for i in range(runs):
        add_run(engine, me, TODAY, hour=6 + i, fade_pct=10.0 + i)
    assert check(engine, alerts_context(settings), NOW).queued == 1 + runs
    return [a["id"] for a in list_alerts(engine)]


def _attempts(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [(r.status, r.error) for r in conn.execute(select(alert_attempts).order_by(alert_attempts.c.id))]


def test_signed_payload_delivered(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    [ident] = _queue(engine, s)
    summary = deliver_due(engine, alerts_context(s), NOW)
    assert (summary.delivered, summary.pending) == (1, 0)
    [got] = hook.received
    assert got.signature_ok is True
    body = got.json
    assert body["schema"] == "heavylegs.alert.v1" and body["id"] == ident and body["rule"] == "no_rest"
    assert set(body) == {"schema", "id", "rule", "severity", "athlete", "date", "activity_id", "metrics", "message", "advice", "created_at"}
    assert got.headers["x-heavylegs-event"] == "no_rest" and got.headers["x-heavylegs-delivery"] == ident
    [row] = list_alerts(engine)
    assert row["deliveries"] == [{"channel": "hook", "status": "delivered", "attempts": 1, "last_error": None}]
    assert [a[0] for a in _attempts(engine)] == ["delivered"]


def test_down_then_back_is_delivered_once(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    [ident] = _queue(engine, s)
    hook.down()
    first = deliver_due(engine, alerts_context(s), NOW)
    assert (first.retrying, first.pending) == (1, 1)
    # Not due yet: backoff holds it back.
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=1)).attempted == 0
    hook.up()
    later = deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=11))
    assert (later.delivered, later.pending) == (1, 0)
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(hours=1), force=True).attempted == 0
    assert hook.unique_ids() == [ident] and len(hook.requests) == 1
    statuses = [a[0] for a in _attempts(engine)]
    assert statuses == ["error", "delivered"]
    assert "cannot reach http://127.0.0.1" in (_attempts(engine)[0][1] or "")


def test_500_then_success_and_backoff_window(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    _queue(engine, s)
    hook.fail_next(1, status=500)
    assert deliver_due(engine, alerts_context(s), NOW).retrying == 1
    with engine.connect() as conn:
        due = conn.execute(select(alert_deliveries.c.next_attempt_ts)).scalar()
    # First retry: base 10 s, jittered into [5, 10] s.
    assert NOW.timestamp() + 5 <= due <= NOW.timestamp() + 10
    [row] = list_alerts(engine)
    assert row["deliveries"][0]["status"] == "retrying" and "HTTP 500" in row["deliveries"][0]["last_error"]
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=10)).delivered == 1
    assert [a[0] for a in _attempts(engine)] == ["error", "delivered"]
    assert len(hook.received) == 1


def test_backoff_grows_and_is_capped() -> None:
    class Fixed:
        def random(self) -> float:
            return 1.0

    assert [backoff_s(n, 30, 3600, Fixed()) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]  # type: ignore[arg-type]


def test_410_is_permanent_and_shows_on_the_channel(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    _queue(engine, s)
    hook.fail_next(1, status=410)
    summary = deliver_due(engine, alerts_context(s), NOW)
    assert (summary.failed, summary.pending) == (1, 0)
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(hours=2), force=True).attempted == 0
    assert len(hook.requests) == 1
    [chan] = channel_status(engine, channel_env(s))
    assert chan["name"] == "hook" and "HTTP 410" in chan["permanent_error"] and chan["pending"] == 0
    assert list_alerts(engine)[0]["deliveries"][0]["status"] == "failed"


def test_redirect_is_an_error_not_followed(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, hook.url)
    _queue(engine, s)
    hook.fail_next(1, status=302)
    assert deliver_due(engine, alerts_context(s), NOW).retrying == 1
    assert "redirect" in (_attempts(engine)[0][1] or "")


def test_slow_receiver_times_out(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, hook.url)
    _queue(engine, s)
    hook.delay_s = 1.6
    summary = deliver_due(engine, alerts_context(s), NOW)
    assert summary.retrying == 1
    [(status, error)] = _attempts(engine)
    assert status == "error" and "timed out after 1 s" in (error or "")
    with engine.connect() as conn:
        duration = conn.execute(select(alert_attempts.c.duration_s)).scalar()
    assert 0.9 <= duration < 1.6


def test_gives_up_after_max_age(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, hook.url, retry_max_age_h=1)
    _queue(engine, s)
    hook.status = 503
    assert deliver_due(engine, alerts_context(s), NOW).retrying == 1
    summary = deliver_due(engine, alerts_context(s), NOW + timedelta(hours=1, seconds=1))
    assert (summary.failed, summary.pending) == (1, 0)
    assert "giving up" in (list_alerts(engine)[0]["deliveries"][0]["last_error"] or "")


def test_secret_tokens_in_the_url_stay_out_of_errors(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, hook.url + "/T0KEN-abc?key=SEKRIT")
    _queue(engine, s)
    hook.fail_next(1, 500)
    deliver_due(engine, alerts_context(s), NOW)
    stored = json.dumps([_attempts(engine), list_alerts(engine), channel_status(engine, channel_env(s))])
    assert "HTTP 500" in stored
    assert "T0KEN" not in stored and "SEKRIT" not in stored and SECRET not in stored


CLAIM_AND_DIE = """
import os, sys
from sqlalchemy import select
from heavylegs.alerts.outbox import claim
from heavylegs.alerts.tables import alert_deliveries
from heavylegs.store.db import make_engine
engine = make_engine(sys.argv[1])
now = float(sys.argv[2])
with engine.begin() as conn:
    did = conn.execute(select(alert_deliveries.c.id)).scalar()
    assert claim(conn, did, now, now - 300, now) is not None
os._exit(0)  # killed between claim and send
"""


def test_crash_between_claim_and_send_is_redelivered(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    [ident] = _queue(engine, s)
    subprocess.run([sys.executable, "-c", CLAIM_AND_DIE, s.db_url, str(NOW.timestamp())], check=True, timeout=60)
    # Still claimed by the dead process: nobody sends it yet, and it is not lost.
    held = deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=60), force=True)
    assert (held.attempted, held.pending) == (0, 1)
    assert hook.requests == []
    after = deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=301))
    assert (after.delivered, after.pending) == (1, 0)
    assert hook.unique_ids() == [ident]


def test_concurrent_senders_send_each_alert_once(engine: Engine, settings: Settings, hook: WebhookReceiver) -> None:
    s = _settings(settings, hook.url)
    ids = _queue(engine, s, runs=4)
    hook.delay_s = 0.1
    results = []
    workers = [threading.Thread(target=lambda: results.append(deliver_due(engine, alerts_context(s), NOW))) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(r.delivered for r in results) == 5
    assert sorted(r.delivery_id for r in hook.requests) == sorted(ids)


def test_the_readme_verification_recipe_accepts_a_real_delivery(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    import re
    import time
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "docs" / "alerts.md").read_text()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify" in block]
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - the documented recipe, run as a receiver would
    verify = namespace["verify"]
    engine, settings = lite
    s = _settings(settings, hook.url)
    _queue(engine, s)
    assert deliver_due(engine, alerts_context(s), NOW).delivered == 1
    [got] = hook.received
    headers = {k.title(): v for k, v in got.headers.items()}
    skew = 10**10  # the test clock (NOW) is not the wall clock
    assert verify(SECRET, headers, got.body, skew) is True
    assert verify(SECRET, headers, got.body + b" ", skew) is False
    assert verify("wrong-secret", headers, got.body, skew) is False
    fresh = abs(time.time() - int(headers["X-Heavylegs-Timestamp"])) <= 300
    assert verify(SECRET, headers, got.body) is fresh  # the default rejects stale timestamps


def test_a_stop_ends_delivery_after_the_alert_in_hand(lite: tuple[Engine, Settings], hook: WebhookReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, hook.url, webhook_timeout_s=5)
    ids = _queue(engine, s, runs=4)
    hook.delay_s = 0.3  # slow enough for the stop to land while one alert is in hand
    stop = threading.Event()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(deliver_due(engine, alerts_context(s), NOW, stop=stop)))
    worker.start()
    assert hook.wait_for(1, timeout=10)
    stop.set()
    worker.join(timeout=10)
    [first] = result
    assert 1 <= first.delivered < len(ids) and first.pending == len(ids) - first.delivered
    hook.delay_s = 0.0
    rest = deliver_due(engine, alerts_context(s), NOW)  # the next start picks up the rest, each once
    assert rest.delivered == len(ids) - first.delivered and rest.pending == 0
    assert sorted(r.delivery_id for r in hook.received) == sorted(ids)
