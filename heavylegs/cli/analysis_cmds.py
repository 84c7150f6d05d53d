"""``heavylegs load``, ``runs`` and ``report``: the analysis, always recomputed first when stale."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from heavylegs.cli.app import App, athlete_option, pass_app, table_console
from heavylegs.metrics.config import analysis_config
from heavylegs.metrics.export import rows_csv, rows_json
from heavylegs.metrics.read import DAILY_KEYS, RUN_KEYS, daily_rows, describe_anchors, run_rows, state_info
from heavylegs.metrics.recompute import ensure_current
from heavylegs.metrics.summary import load_summary
from heavylegs.settings import ConfigError
from heavylegs.store.activities import find_athlete
from heavylegs.store.db import read

TABLE_DAYS = 42  # the readable table shows six weeks
TABLE_RUNS = 20

date_option = click.DateTime(formats=["%Y-%m-%d"])


def _current(app: App, athlete: str | None) -> tuple[int, str, date]:
    """(athlete id, name, today) with the analysis brought up to date."""
    name = app.athlete_name(athlete)
    with read(app.engine) as conn:
        aid = find_athlete(conn, name)
        conn.rollback()
    if aid is None:
        raise click.ClickException(f"no athlete named {name!r} yet: import some activities first (heavylegs import PATH)")
    try:
        from heavylegs.service.envs import analysis_env

        today = app.settings.athlete_today(name)
        ensure_current(app.engine, analysis_env(app.settings), aid, today)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return aid, name, today


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pace(speed_mps: float | None) -> str:
    if not speed_mps:
        return "-"
    sec = round(1000.0 / speed_mps)
    return f"{sec // 60}:{sec % 60:02d}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _emit(rows: list[dict[str, Any]], keys: tuple[str, ...], as_json: bool, as_csv: bool) -> bool:
    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    if as_json:
        click.echo(rows_json(rows, keys))
    elif as_csv:
        click.echo(rows_csv(rows, keys), nl=False)
    return as_json or as_csv


@click.command("load")
@click.option("--since", type=date_option, help="First day (YYYY-MM-DD).")
@click.option("--until", type=date_option, help="Last day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="All columns as JSON, full precision.")
@click.option("--csv", "as_csv", is_flag=True, help="All columns as CSV with a header row.")
@athlete_option
@pass_app
def load_cmd(app: App, since: Any, until: Any, as_json: bool, as_csv: bool, athlete: str | None) -> None:
    """Daily training load, load ratios (ACWR), fitness/fatigue and run streak.

    \b
    Examples:
      heavylegs load                                  # last six weeks and a summary
      heavylegs load --since 2024-01-01 --csv > load.csv
      heavylegs load --json --athlete alice
    """
    aid, name, today = _current(app, athlete)
    first = since.date() if since else None
    last = until.date() if until else None
    with read(app.engine) as conn:
        everything = daily_rows(conn, aid)
        state = state_info(conn, aid)
        conn.rollback()
    rows = [r for r in everything if (first is None or r["date"] >= first) and (last is None or r["date"] <= last)]
    if _emit(rows, DAILY_KEYS, as_json, as_csv):
        return
    if first is None and last is None:
        rows = rows[-TABLE_DAYS:]
    table = Table(title=f"Training load: {name}")
    for col in ("date", "load", "acute", "chronic", "ACWR", "uncoupled", "EWMA", "CTL", "ATL", "TSB", "monotony", "streak"):
        table.add_column(col, justify="left" if col == "date" else "right")
    for r in rows:
        table.add_row(
            r["date"].isoformat(),
            _fmt(r["load"], 0),
            _fmt(r["acute"]),
            _fmt(r["chronic"]),
            _fmt(r["acwr"], 2),
            _fmt(r["acwr_uncoupled"], 2),
            _fmt(r["acwr_ewma"], 2),
            _fmt(r["ctl"]),
            _fmt(r["atl"]),
            _fmt(r["tsb"]),
            _fmt(r["monotony"], 2),
            str(r["run_streak"]),
        )
    console = table_console()
    console.print(table)
    from heavylegs.service.envs import analysis_env

    cfg = analysis_config(analysis_env(app.settings), name)
    latest = next((r for r in reversed(everything) if r["date"] <= today), everything[-1] if everything else None)
    # Plain echo: rich would wrap these sentences at 80 columns when piped.
    click.echo(load_summary(latest, cfg, len(everything)))
    click.echo(describe_anchors(state))


@click.command("runs")
@click.option("--since", type=date_option, help="First day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="All columns as JSON, full precision.")
@click.option("--csv", "as_csv", is_flag=True, help="All columns as CSV with a header row.")
@athlete_option
@pass_app
def runs_cmd(app: App, since: Any, as_json: bool, as_csv: bool, athlete: str | None) -> None:
    """Per-run metrics of qualifying runs: grade-adjusted pace, late fade, decoupling, cadence drop.

    \b
    Examples:
      heavylegs runs
      heavylegs runs --since 2024-06-01 --json
    """
    aid, name, _today = _current(app, athlete)
    with read(app.engine) as conn:
        rows = run_rows(conn, aid, since.date() if since else None)
        conn.rollback()
    if _emit(rows, RUN_KEYS, as_json, as_csv):
        return
    if since is None:
        rows = rows[-TABLE_RUNS:]
    table = Table(title=f"Runs: {name}")
    for col in ("date", "id", "km", "moving", "GAP /km", "fade %", "vs usual", "decoupling %", "cadence drop %", "steady", "load"):
        table.add_column(col, justify="left" if col == "date" else "right")
    for r in rows:
        table.add_row(
            r["local_date"].isoformat(),
            str(r["id"]),
            _fmt(r["distance_m"] / 1000.0 if r["distance_m"] is not None else None, 2),
            _duration(r["moving_s"]),
            _pace(r["gap_speed_mps"]),
            _fmt(r["fade_pct"]),
            "-" if r["fade_vs_baseline"] is None else f"{r['fade_vs_baseline']:+.1f}",
            _fmt(r["decoupling_pct"]),
            _fmt(r["cadence_drop_pct"]),
            _fmt(r["steady"]),
            f"{_fmt(r['load'], 0)} ({r['load_method']})",
        )
    console = table_console()
    console.print(table)
    if not rows:
        click.echo("No qualifying runs (at least 5 km and 20 minutes of moving time).")


@click.command("report")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Output file (default: <data dir>/report.html).")
@athlete_option
@pass_app
def report_cmd(app: App, out: str | None, athlete: str | None) -> None:
    """Write a self-contained HTML report with charts.

    \b
    Examples:
      heavylegs report                       # <data dir>/report.html
      heavylegs report --out ~/legs.html
    """
    from heavylegs.report import render_report_html  # matplotlib is slow to import; only here
    from heavylegs.service.envs import analysis_env

    aid, _name, today = _current(app, athlete)
    path = Path(out) if out else app.settings.data_dir / "report.html"
    html = render_report_html(app.engine, app.settings.cfg.report, analysis_env(app.settings), aid, today)
    from heavylegs.report.output import write_report  # unpredictable O_EXCL temp file, 0600, renamed

    write_report(path, html)
    click.echo(str(path.resolve()))


def register(main: click.Group) -> None:
    for cmd in (load_cmd, runs_cmd, report_cmd):
        main.add_command(cmd)

