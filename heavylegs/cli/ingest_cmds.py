"""``import``, ``activities``, ``show`` and ``rebuild``."""
from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from heavylegs.activity_view import list_activities, show_activity
from heavylegs.cli.app import App, athlete_option, pass_app, recompute_changed, table_console
from heavylegs.importer import import_paths
from heavylegs.store.activities import find_athlete
from heavylegs.store.db import read


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


since_option = click.option("--since", callback=_date, help="First local date, YYYY-MM-DD.")
until_option = click.option("--until", callback=_date, help="Last local date, YYYY-MM-DD.")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@athlete_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outcome.")
@click.option("--workers", type=int, default=None, help="Decoder processes (default: import.workers, 0 = all cores).")
@pass_app
def import_cmd(app: App, paths: tuple[str, ...], athlete: str | None, as_json: bool, workers: int | None) -> None:
    """Import activity files, folders and export archives.

    \b
    Examples:
      heavylegs import ~/Downloads/export_12345678.zip        # Strava bulk export
      heavylegs import /media/GARMIN/Activity                  # a watch over USB
      heavylegs import run.fit ride.gpx.gz session.tcx --json

    Exit status: 0 when nothing failed, 2 when any file failed (all others are still imported).
    """
    from heavylegs.service.envs import import_env

    name, env = app.athlete_name(athlete), import_env(app.settings)
    err = Console(stderr=True)
    if sys.stderr.isatty() and not as_json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as bar:
            task = bar.add_task("import", total=None)

            def progress(done: int, total: int | None, _path: str) -> None:
                bar.update(task, completed=done, total=total)

            report = import_paths(app.engine, env, list(paths), athlete=name, progress=progress, workers=workers)
    else:
        report = import_paths(app.engine, env, list(paths), athlete=name, workers=workers)
    if report.imported:
        recompute_changed(app)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(f"imported {report.imported}, duplicates {report.duplicates}, skipped {len(report.skipped)}, failed {len(report.failed)}")
        for entry in report.skipped:
            click.echo(f"  skipped {entry['path']}: {entry['reason']}")
        for entry in report.failed:
            click.echo(f"  FAILED  {entry['path']}: {entry['reason']}", err=True)
        for entry in report.warnings:
            click.echo(f"  warning {entry['path']}: {entry['reason']}", err=True)
    if report.failed:
        sys.exit(2)


def _athlete_id(app: App, athlete: str | None) -> int | None:
    with read(app.engine) as conn:
        return find_athlete(conn, app.athlete_name(athlete))


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@click.command("activities")
@since_option
@until_option
@click.option("--sport", help="Only this sport (running, trail_running, cycling, ...).")
@athlete_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def activities_cmd(app: App, since: date | None, until: date | None, sport: str | None, athlete: str | None, as_json: bool) -> None:
    """List stored activities.

    \b
    Examples:
      heavylegs activities --since 2024-01-01 --sport running
      heavylegs activities --json | jq '.[] | select(.distance_m > 20000)'
    """
    aid = _athlete_id(app, athlete)
    rows: list[dict[str, Any]] = []
    if aid is not None:
        with read(app.engine) as conn:
            rows = list_activities(conn, aid, since, until, sport)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "start (UTC)", "local date", "sport", "device", "time", "km", "avg HR", "sources")
    unknown = 0
    for r in rows:
        if not r.get("time_known", True):
            unknown += 1
            r = r | {"start_utc": "unknown (set-start)", "local_date": "?"}
        km = f"{r['distance_m'] / 1000:.2f}" if r["distance_m"] else ""
        hr = f"{r['avg_hr_bpm']:.0f}" if r["avg_hr_bpm"] else ""
        table.add_row(str(r["id"]), r["start_utc"], r["local_date"], r["sport"], r["device"] or "", _fmt_duration(r["elapsed_s"]), km, hr, str(len(r["sources"])))
    table_console().print(table)
    click.echo(f"{len(rows)} activities")
    if unknown:
        click.echo(f"{unknown} without a real date, left out of the analysis: heavylegs set-start ID YYYY-MM-DDTHH:MM:SS[+HH:MM]")


@click.command("show")
@click.argument("activity_id", type=int)
@athlete_option
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show_cmd(app: App, activity_id: int, athlete: str | None, as_json: bool) -> None:
    """Show one activity with its laps and a summary of its streams.

    \b
    Example:
      heavylegs show 42 --json
    """
    with read(app.engine) as conn:
        data = show_activity(conn, activity_id)
    if data is None:
        raise click.ClickException(f"no activity with id {activity_id}")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key in ("id", "name", "sport", "sub_sport", "start_utc", "local_date", "timezone", "device", "format", "elapsed_s", "moving_s", "distance_m", "avg_hr_bpm", "max_hr_bpm", "has_gps", "time_known"):
        click.echo(f"{key:>12}: {data[key]}")
    click.echo(f"{'laps':>12}: {len(data['laps'])}")
    for name, summary in data["streams"].items():
        if isinstance(summary, dict):
            click.echo(f"{name:>12}: {summary['valid']} valid, min {summary['min']}, max {summary['max']}")
    for src in data["sources"]:
        click.echo(f"{'source':>12}: {src['kind']} {src['ref']}")


@click.command("rebuild")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def rebuild_cmd(app: App, as_json: bool) -> None:
    """Re-decode every stored original file and rebuild activities and analysis.

    Use after upgrading heavylegs: ids, names and links stay.

    \b
    Example:
      heavylegs rebuild
    """
    from heavylegs.rebuild import rebuild_all

    summary = rebuild_all(app.engine, app.settings.athletes)
    recompute_changed(app)
    removed = f", {len(summary['removed'])} removed (not an activity)" if summary.get("removed") else ""
    click.echo(json.dumps(summary, indent=2) if as_json else f"rebuilt {summary['rebuilt']} activities from {summary['files']} files; {len(summary['failed'])} failed{removed}")


def register(main: click.Group) -> None:
    from heavylegs.cli import time_cmds

    for cmd in (import_cmd, activities_cmd, show_cmd, rebuild_cmd):
        main.add_command(cmd)
    time_cmds.register(main)
