"""E-mail delivery through a real aiosmtpd server on loopback."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from heavylegs.alerts.delivery import deliver_due
from heavylegs.alerts.engine import check
from heavylegs.alerts.query import channel_status, list_alerts
from heavylegs.service.jobs import alerts_context, channel_env
from heavylegs.settings import Settings
from tests.alerts_support import (
    NOW,
    add_athlete,
    add_days,
    only_rule,
    with_channels,
)
from tests.receivers import SmtpReceiver, free_port


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpReceiver) -> SmtpReceiver:
    smtp_server.reset()
    return smtp_server


def _settings(settings: Settings, port: int, **extra: object) -> Settings:
    chan = {"name": "mail", "kind": "email", "to": ["runner@example.org"], "from": "Heavylegs <alerts@legs.example>",
            "host": "127.0.0.1", "port": port, "security": "none", "timeout_s": 2, "chart": False} | extra
    return only_rule(with_channels(settings, chan, retry_base_s=5), "load_spike")


def _queue(engine: Engine, settings: Settings) -> str:
    me = add_athlete(engine)
    add_days(engine, me, [50.0] * 42 + [200.0])  # a spike today (500 / 350 = 1.43): one caution alert
    assert check(engine, alerts_context(settings), NOW).queued == 1
    return str(list_alerts(engine)[0]["id"])


def test_email_is_multipart_with_inline_chart(engine: Engine, settings: Settings, smtp: SmtpReceiver) -> None:
    s = _settings(settings, smtp.port, chart=True)
    ident = _queue(engine, s)
    assert deliver_due(engine, alerts_context(s), NOW).delivered == 1
    [msg] = smtp.messages
    assert smtp.envelopes == [("alerts@legs.example", ["runner@example.org"])]
    assert msg["Message-ID"] == f"<heavylegs-alert-{ident}@legs.example>"
    assert msg["X-Heavylegs-Alert"] == ident
    assert "load spike" in msg["Subject"] and "Caution" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.get_payload()
    assert text.get_content_type() == "text/plain"
    assert "was 500, 43% above your average week over the 4 weeks before (350; ratio 1.43)" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html" and image.get_content_type() == "image/png"
    assert image.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    # On a phone (390 px) the 600 px chart must shrink to the screen, not overflow it.
    body = html.get_content()
    img = body[body.index("<img"): body.index(">", body.index("<img"))]
    assert "max-width:100%" in img and "height:auto" in img
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body


def test_temporary_refusal_then_accepted(engine: Engine, settings: Settings, smtp: SmtpReceiver) -> None:
    s = _settings(settings, smtp.port)
    ident = _queue(engine, s)
    smtp.fail_next(1, "451 4.3.0 Mailbox busy, try later")
    first = deliver_due(engine, alerts_context(s), NOW)
    assert (first.retrying, smtp.refused, smtp.messages) == (1, 1, [])
    assert "SMTP 451" in list_alerts(engine)[0]["deliveries"][0]["last_error"]
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(seconds=5)).delivered == 1
    assert smtp.alert_ids() == [ident]
    # chart = false: plain alternatives, no related image part.
    assert [p.get_content_type() for p in smtp.messages[0].get_payload()] == ["text/plain", "text/html"]


def test_550_is_permanent(lite: tuple[Engine, Settings], smtp: SmtpReceiver) -> None:
    engine, settings = lite
    s = _settings(settings, smtp.port)
    _queue(engine, s)
    smtp.fail_next(1, "550 5.1.1 No such mailbox")
    summary = deliver_due(engine, alerts_context(s), NOW)
    assert (summary.failed, summary.pending) == (1, 0)
    [chan] = channel_status(engine, channel_env(s))
    assert "SMTP 550" in chan["permanent_error"]
    assert deliver_due(engine, alerts_context(s), NOW + timedelta(hours=1), force=True).attempted == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("password,delivered", [("right-pw", True), ("wrong-pw", False)])
def test_smtp_auth(lite: tuple[Engine, Settings], password: str, delivered: bool) -> None:
    engine, settings = lite
    with SmtpReceiver(auth=("runner", "right-pw")) as server:
        # A login without TLS is allowed only to a loopback relay, and only when the user says so.
        plain = _settings(settings, server.port, username="runner", password_env="SMTP_PW").with_overrides({"smtp.allow_plaintext_auth": True})
        s = dataclasses.replace(plain, env={"SMTP_PW": password})
        _queue(engine, s)
        summary = deliver_due(engine, alerts_context(s), NOW)
        assert summary.delivered == (1 if delivered else 0)
        assert len(server.messages) == (1 if delivered else 0)
        if not delivered:
            [chan] = channel_status(engine, channel_env(s))
            assert "SMTP 535" in chan["permanent_error"] and password not in chan["permanent_error"]


def test_server_down_is_retried(lite: tuple[Engine, Settings]) -> None:
    engine, settings = lite
    s = _settings(settings, free_port())
    _queue(engine, s)
    summary = deliver_due(engine, alerts_context(s), NOW)
    assert (summary.retrying, summary.pending) == (1, 1)
    assert "cannot send through 127.0.0.1" in list_alerts(engine)[0]["deliveries"][0]["last_error"]
