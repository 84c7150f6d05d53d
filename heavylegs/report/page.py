"""The self-contained HTML report (CLI ``heavylegs report`` and the service's ``GET /``).

Reads stored results only; callers bring the analysis up to date first. The
page is the Jinja2 template ``report/templates/report.html.j2`` (autoescaped:
everything it shows is escaped); charts are inline base64 PNGs, so the file can
be mailed or opened offline.
"""
from __future__ import annotations

import base64
import importlib.metadata
from datetime import date, datetime, timedelta, timezone
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import Engine, select

from heavylegs.metrics.activity import DETAIL_COLS, LIST_COLS, ActivityInfo
from heavylegs.metrics.config import AnalysisConfig, AnalysisEnv, analysis_config
from heavylegs.metrics.read import daily_rows, describe_anchors, run_rows, state_info
from heavylegs.metrics.summary import load_summary
from heavylegs.report.charts import fade_chart_png, load_chart_png, long_run_chart_png
from heavylegs.report.profile import RunProfile, run_profile
from heavylegs.settings_schema import ReportSection
from heavylegs.store.activities import load_streams
from heavylegs.store.db import read
from heavylegs.store.tables import activities, athletes

_TEMPLATES = Environment(loader=PackageLoader("heavylegs.report", "templates"), undefined=StrictUndefined,
                         autoescape=True, keep_trailing_newline=True)
RUN_HEADINGS = ("date", "km", "GAP /km", "fade", "vs usual", "decoupling", "cadence drop", "steady", "load")


def _version() -> str:
    try:
        return importlib.metadata.version("heavylegs")
    except importlib.metadata.PackageNotFoundError:
        return "(development)"


def _latest_long_run(runs: list[dict[str, Any]], long_run_m: float) -> dict[str, Any] | None:
    long = [r for r in runs if (r["distance_m"] or 0) >= long_run_m]
    pick = long or runs
    return pick[-1] if pick else None


def _load_window(all_days: list[dict[str, Any]], since: date, today: date, months: int) -> tuple[list[dict[str, Any]], str]:
    """The chart's days and heading: the last ``months``, or, after a longer break, the
    ``months`` up to the last day with load (six months of zeros show nothing)."""
    days = [r for r in all_days if r["date"] >= since]
    active = [r["date"] for r in all_days if r["load"]]
    if any(r["load"] for r in days) or not active:
        return days, f"Training load over the last {months} months"
    end = active[-1]
    start = end - (today - since)
    return [r for r in all_days if start <= r["date"] <= end], f"Training load in the {months} months up to your last activity ({end.isoformat()})"


def _profile(engine: Engine, run: dict[str, Any] | None, cfg: AnalysisConfig) -> RunProfile | None:
    if run is None:
        return None
    with read(engine) as conn:
        row = conn.execute(select(activities).where(activities.c.id == run["id"])).first()
        streams = load_streams(conn, run["id"]) if row is not None else None
        conn.rollback()
    if row is None or streams is None:
        return None
    m = row._mapping
    info = ActivityInfo(*(m[k] for k in LIST_COLS + DETAIL_COLS))
    title = f"{m['name'] or 'Run'} on {m['local_date'].isoformat()}: {(run['distance_m'] or 0) / 1000:.1f} km"
    return run_profile(streams, title, treadmill=info.is_treadmill, params=cfg.run_params)


def _num(v: Any, digits: int = 1, suffix: str = "") -> str | None:
    """A table cell's text; None (shown as a dash) when the value is missing."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}{suffix}"
    return str(v)


def _pace(speed: float | None) -> str | None:
    if not speed:
        return None
    sec = round(1000.0 / speed)
    return f"{sec // 60}:{sec % 60:02d}"


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    """One row of the runs table, newest first, as text (the template escapes it)."""
    return {
        "date": r["local_date"].isoformat(), "km": _num((r["distance_m"] or 0) / 1000.0, 2), "gap_pace": _pace(r["gap_speed_mps"]),
        "fade": _num(r["fade_pct"], 1, "%"),
        "vs_usual": None if r["fade_vs_baseline"] is None else f"{r['fade_vs_baseline']:+.1f} pts",
        "decoupling": _num(r["decoupling_pct"], 1, "%"), "cadence_drop": _num(r["cadence_drop_pct"], 1, "%"),
        "steady": _num(r["steady"]), "load": _num(r["load"], 0), "load_method": r["load_method"],
    }


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def render_report_html(engine: Engine, rep: ReportSection, analysis: AnalysisEnv, athlete_id: int, today: date) -> str:
    """The report page for ``athlete_id`` as of ``today`` (the athlete's local date), laid out by
    ``[report]``; ``analysis`` gives the athlete's analysis settings, as the recompute reads them."""
    months = rep.months
    since = today - timedelta(days=round(months * 30.44))
    with read(engine) as conn:
        name = conn.execute(select(athletes.c.name).where(athletes.c.id == athlete_id)).scalar()
        if name is None:
            raise KeyError(f"no athlete with id {athlete_id}")
        all_days = daily_rows(conn, athlete_id, until=today)
        # Runs are not cut to the load chart's months: a runner back from a long break still
        # sees their last runs and last long run.
        runs = [r for r in run_rows(conn, athlete_id) if r["local_date"] <= today]
        state = state_info(conn, athlete_id)
        conn.rollback()
    cfg = analysis_config(analysis, str(name))
    days, load_heading = _load_window(all_days, since, today, months)
    recent = runs[-rep.runs :]
    long_run = _latest_long_run(runs, rep.long_run_m)
    profile = _profile(engine, long_run, cfg)
    summary = load_summary(all_days[-1] if all_days else None, cfg, len(all_days))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _TEMPLATES.get_template("report.html.j2").render(
        name=str(name), today=today.isoformat(), anchors=describe_anchors(state), summary=summary,
        load_heading=load_heading, load_png=_b64(load_chart_png(days)), fade_png=_b64(fade_chart_png(recent)),
        long_run_png=_b64(long_run_chart_png(profile)), headings=RUN_HEADINGS, runs=[_run_row(r) for r in reversed(recent)],
        generated=generated, version=_version(),
    )
