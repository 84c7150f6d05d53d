"""Templates (Jinja2, autoescaped) for the report page and the alert e-mail; the transport and rule registries."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import lxml.html
import pytest

from heavylegs.alerts.model import Alert
from heavylegs.alerts.rules_registry import RULES, enabled_configs
from heavylegs.alerts.transports.email import build_message, render_html
from heavylegs.alerts.transports.registry import TRANSPORTS, build_channels
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.report import render_report_html
from heavylegs.service.envs import analysis_env
from heavylegs.service.jobs import channel_env
from heavylegs.settings import load_settings
from heavylegs.settings_schema_alerts import CHANNEL_KINDS, AlertRules
from heavylegs.store.db import make_engine, migrate
from tests.metrics_synth import activity, athlete_id, run, store, streams_for

HOSTILE = ["<script>alert(1)</script>", '"onload="alert(2)', "$\\frac{1}{$"]
TODAY = date(2024, 9, 30)


def _alert(text: str) -> Alert:
    return Alert(id="a" * 32, rule="late_fade", severity="caution", athlete=text, date=TODAY, activity_id=7,
                 metrics={"activity": text, text: 1.5}, message=f"Your run {text} faded.\nSecond line",
                 advice=[f"Rest after {text}"], created_at=datetime(2024, 9, 30, 8, tzinfo=timezone.utc))


def _no_markup_from_data(doc: lxml.html.HtmlElement) -> None:
    assert doc.xpath("//script") == []
    assert [e for e in doc.iter() if isinstance(e.tag, str) and any(a.startswith("on") for a in e.attrib)] == []


@pytest.mark.parametrize("text", HOSTILE)
def test_email_html_escapes_what_the_alert_carries(text: str) -> None:
    body = render_html(_alert(text), with_chart=False)
    doc = lxml.html.fromstring(body)
    _no_markup_from_data(doc)
    shown = doc.text_content()
    # Each value comes back as the same text, in the title, message, advice and numbers.
    assert shown.count(text) >= 5
    assert "Your run " + text + " faded." in shown and "Second line" in shown
    assert len(doc.xpath("//p/br")) == 1  # the message's line break, and only that one
    assert doc.xpath("//table/tr/td")[0].text_content() == "activity"


def test_email_keeps_phone_layout_and_inline_chart_reference() -> None:
    msg = build_message(_alert("Sunday long run"), "heavylegs@legs.example", ["r@example.org"], chart=False)
    html = [p for p in msg.walk() if p.get_content_type() == "text/html"][0].get_content()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<img" not in html  # no chart asked for: no dangling cid reference
    with_chart = render_html(_alert("x"), with_chart=True)
    [img] = lxml.html.fromstring(with_chart).xpath("//img")
    assert img.get("src") == "cid:chart@heavylegs" and "max-width:100%" in img.get("style") and "height:auto" in img.get("style")


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp: Path = tmp_path_factory.mktemp("tpl")
    settings = load_settings(data_dir=tmp, environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    acts = [run(TODAY - timedelta(days=d), 40, hr=148) for d in range(30, 0, -3)]
    acts.append(activity(TODAY, streams_for([(3.0, 3000)], hr=150.0), name=HOSTILE[0] + HOSTILE[1] + HOSTILE[2]))
    name = " ".join(HOSTILE)
    store(engine, acts, athlete=name)
    aid = athlete_id(engine, name)
    recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    page = render_report_html(engine, settings.cfg.report, analysis_env(settings), aid, TODAY)
    engine.dispose()
    return page


def test_report_page_escapes_hostile_names(hostile_page: str) -> None:
    doc = lxml.html.fromstring(hostile_page)
    _no_markup_from_data(doc)
    assert doc.findtext(".//title") == "heavylegs report: " + " ".join(HOSTILE)
    assert doc.findtext(".//h1") == "heavylegs: " + " ".join(HOSTILE)
    assert "<script>alert(1)" not in hostile_page and '"onload=' not in hostile_page
    # No scripts and nothing from elsewhere: the service's CSP allows inline CSS and data: images only.
    assert not doc.xpath("//link | //iframe | //img[not(starts-with(@src, 'data:image/png;base64,'))]")
    assert "<body>" in hostile_page  # the service inserts its logout form right after it


def test_templates_are_package_data() -> None:
    assert files("heavylegs.report").joinpath("templates/report.html.j2").is_file()
    assert files("heavylegs.report").joinpath("templates/report.css").is_file()
    assert files("heavylegs.alerts").joinpath("templates/alert_email.html.j2").is_file()
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert '"heavylegs.report" = ["templates/*.j2", "templates/*.css"]' in pyproject
    assert '"heavylegs.alerts" = ["templates/*.j2"]' in pyproject


def test_every_channel_kind_and_rule_is_registered(tmp_path: Path) -> None:
    assert set(TRANSPORTS) == set(CHANNEL_KINDS)
    assert set(RULES) == set(AlertRules.model_fields)  # one entry per [alerts.rules.<name>] table
    settings = load_settings(data_dir=tmp_path, environ={})
    assert list(enabled_configs(settings.cfg.alerts.rules)) == list(RULES)
    off = settings.with_overrides({"alerts.rules.monotony.enabled": False})
    assert "monotony" not in enabled_configs(off.cfg.alerts.rules) and enabled_configs(off.cfg.alerts.rules)["no_rest"]["run_streak"] == 7


def test_only_a_charting_email_channel_asks_for_history(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={}).with_overrides({"alerts.channels": [
        {"name": "mail", "kind": "email", "to": "r@example.org", "chart": True},
        {"name": "plain", "kind": "email", "to": "r@example.org", "chart": False},
        {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/x"},
        {"name": "local", "kind": "file"},
    ]})
    assert {c.name: c.wants_chart for c in build_channels(channel_env(settings))} == {"mail": True, "plain": False, "hook": False, "local": False}
