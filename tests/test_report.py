"""The HTML report: valid, self-contained, with real PNG charts; chart helpers on their own."""
from __future__ import annotations

import base64
import io
from datetime import date, timedelta
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.report import render_report_html
from heavylegs.report.charts import fade_chart_png, load_chart_png, long_run_chart_png
from heavylegs.service.envs import analysis_env
from heavylegs.settings import load_settings
from heavylegs.store.db import make_engine, migrate
from tests.metrics_synth import activity, athlete_id, run, store, streams_for

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TODAY = date(2024, 9, 30)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    with Image.open(io.BytesIO(data)) as img:
        return img.size


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp: Path = tmp_path_factory.mktemp("report")
    settings = load_settings(data_dir=tmp, environ={}).with_overrides({"athlete.hr_max_bpm": 190})
    engine = make_engine(settings.db_url)
    migrate(engine)
    acts = [run(TODAY - timedelta(days=d), 45, hr=148) for d in range(60, 0, -3)]
    long_streams = streams_for([(3.1, 3600), (2.8, 900)], hr=155.0, hills_m=15.0)
    acts.append(activity(TODAY, long_streams, name="<b>Sunday</b> long & slow"))
    store(engine, acts, athlete="<script>alert(1)</script>")
    aid = athlete_id(engine, "<script>alert(1)</script>")
    recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    html = render_report_html(engine, settings.cfg.report, analysis_env(settings), aid, TODAY)
    engine.dispose()
    return html


def test_report_is_valid_html_with_three_png_charts(report_html: str) -> None:
    doc = lxml.html.document_fromstring(report_html)
    srcs = [img.get("src") for img in doc.iter("img")]
    charts = [s for s in srcs if s.startswith("data:image/png;base64,")]
    assert len(charts) >= 3
    for src in charts:
        w, h = _png_size(base64.b64decode(src.split(",", 1)[1], validate=True))
        assert w >= 600 and h >= 200
    assert doc.find(".//title") is not None and doc.find(".//h1") is not None
    # Self-contained: nothing fetched from elsewhere.
    assert not doc.xpath("//script | //link[@href] | //img[not(starts-with(@src, 'data:'))]")


def test_report_text_explains_acwr_without_risk_language(report_html: str) -> None:
    text = lxml.html.document_fromstring(report_html).text_content()
    assert "Impellizzeri" in text and "2020" in text
    assert "acute:chronic workload ratio (ACWR)" in text and "change in load" in text
    assert "injury risk" not in text.lower()
    assert "HRmax 190 bpm (from your config)" in text
    assert "above your 4-week average" in text or "below your 4-week average" in text or "in line with" in text


def test_report_escapes_user_data(report_html: str) -> None:
    assert "<script>alert(1)</script>" not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report_html


def test_chart_helpers_return_png_even_without_data() -> None:
    for png in (load_chart_png([]), fade_chart_png([]), long_run_chart_png(None)):
        assert _png_size(png)[0] > 100
    rows = [
        {"date": date(2024, 1, 1) + timedelta(days=i), "load": float(i % 3) * 50, "acute": 40.0, "chronic": 35.0,
         "acwr": None if i < 27 else 1.1, "acwr_ewma": None if i < 27 else 1.05}
        for i in range(40)
    ]
    assert _png_size(load_chart_png(rows)) == (900, 550)


def test_after_a_long_break_the_report_shows_the_last_active_months(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={}).with_overrides({"athlete.hr_max_bpm": 190})
    engine = make_engine(settings.db_url)
    migrate(engine)
    last = TODAY - timedelta(days=400)
    store(engine, [run(last - timedelta(days=d), 45, hr=148) for d in range(30, -1, -3)] + [activity(last, streams_for([(3.0, 4000)], hr=150.0))])
    aid = athlete_id(engine)
    recompute_athlete(engine, analysis_env(settings), aid, TODAY)
    html = render_report_html(engine, settings.cfg.report, analysis_env(settings), aid, TODAY)
    engine.dispose()
    doc = lxml.html.document_fromstring(html)
    headings = [h.text_content() for h in doc.iter("h2")]
    assert f"Training load in the 6 months up to your last activity ({last.isoformat()})" in headings
    assert len(doc.xpath("//section[@id='runs']//tr")) > 1  # the runs before the break, not an empty table
