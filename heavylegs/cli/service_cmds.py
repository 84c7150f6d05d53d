"""``connect``, ``sources``, ``disconnect`` and ``run`` (the long-running service)."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from heavylegs.cli.app import App, athlete_option, pass_app, table_console
from heavylegs.settings import ConfigError
from heavylegs.sources.base import SourceError
from heavylegs.sources.store import activity_counts, add_source, extra_status, list_sources, remove_source


@click.group("connect")
def connect() -> None:
    """Connect a source the service collects activities from."""


@connect.command("folder")
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Source name (default: the folder's name).")
@athlete_option
@pass_app
def connect_folder(app: App, path: str, name: str | None, athlete: str | None) -> None:
    """Watch a folder: a watch-export folder or a USB-mounted watch.

    \b
    Examples:
      heavylegs connect folder ~/Garmin-exports
      heavylegs connect folder /media/me/GARMIN --name watch     # scans GARMIN/Activity
    Files are only read, never moved or deleted.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise click.UsageError(f"folder not found: {folder}")
    folder = folder.resolve()
    source_name = name or folder.name or "folder"
    try:
        add_source(app.engine, source_name, "folder", app.athlete_name(athlete), {"path": str(folder)})
    except SourceError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"connected folder {folder} as {source_name!r} for athlete {app.athlete_name(athlete)!r}; `heavylegs run` scans it")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def _interval(app: App, kind: str, config: dict[str, Any]) -> float:
    return float(config.get("interval_s") or app.settings.cfg.service.source_interval_s(kind))


def source_rows(app: App) -> list[dict[str, Any]]:
    from heavylegs.service.envs import source_env

    counts, env = activity_counts(app.engine), source_env(app.settings)
    out = []
    for src in list_sources(app.engine):
        try:
            config = json.loads(src.config_json or "{}")
        except ValueError:
            config = {}
        # The running service decides the real schedule; this is what it will be at the latest.
        next_ts = None if not src.enabled else (src.last_run_ts + _interval(app, src.kind, config) if src.last_run_ts else time.time())
        out.append(
            {
                "name": src.name, "kind": src.kind, "athlete": src.athlete, "enabled": bool(src.enabled),
                "status": src.status if src.enabled else "disabled",
                "path": config.get("path"),
                "last_run": _iso(src.last_run_ts), "last_success": _iso(src.last_success_ts), "last_new": _iso(src.last_new_ts),
                "last_error": src.last_error, "activities": counts.get(int(src.id), 0), "next_run": _iso(next_ts),
            } | extra_status(app.engine, env, src)  # e.g. Garmin's key_expires
        )
    return out


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def sources_cmd(app: App, as_json: bool) -> None:
    """List connected sources, their health and what they delivered.

    \b
    Examples:
      heavylegs sources
      heavylegs sources --json
    """
    rows = source_rows(app)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no sources; connect one with `heavylegs connect folder PATH` (or let `heavylegs run` create the inbox)")
        return
    table = Table("name", "kind", "athlete", "status", "last success", "activities", "next run", "last error")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["athlete"], r["status"], r["last_success"] or "never", str(r["activities"]), r["next_run"] or "", r["last_error"] or "")
    table_console().print(table)


@click.command("disconnect")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also delete the activities only this source brought in.")
@pass_app
def disconnect_cmd(app: App, name: str, purge: bool) -> None:
    """Remove a source. Its activities stay unless --purge.

    \b
    Examples:
      heavylegs disconnect watch
      heavylegs disconnect watch --purge
      heavylegs disconnect strava            # also revokes the access on Strava
    """
    from heavylegs.service.envs import source_env

    try:
        done = remove_source(app.engine, source_env(app.settings), name, purge=purge)
    except SourceError as exc:
        raise click.UsageError(str(exc)) from exc
    extra = f"; deleted {done['purged_activities']} activities" if purge else "; its activities are kept"
    click.echo(f"disconnected {name!r} ({done['kind']}){extra}")


@click.command("run")
@click.option("--inbox", type=click.Path(file_okay=False), default=None, help="Folder to drop files into (default: <data dir>/inbox).")
@click.option("--port", type=int, default=None, help="HTTP port (default: service.port).")
@click.option("--host", default=None, help="HTTP bind address (default: service.host).")
@pass_app
def run_cmd(app: App, inbox: str | None, port: int | None, host: str | None) -> None:
    """Run the service: scan sources, analyse, alert, serve /healthz, /metrics and the report.

    \b
    Examples:
      heavylegs run                           # SQLite in the data dir, inbox <data dir>/inbox
      heavylegs run --inbox ~/runs --port 8081
      HEAVYLEGS_DB=postgresql+psycopg://u:p@db/heavylegs heavylegs run

    \b
    Stop with SIGTERM or Ctrl-C (finishes the file in hand, exits 0).
    Exit status 3: another `heavylegs run` already uses this database.
    """
    from heavylegs.service.main import run_service

    inbox_path = Path(inbox).expanduser() if inbox else app.settings.data_dir / "inbox"
    try:
        status = run_service(app.engine, app.settings, inbox_path, port=port, host=host)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    sys.exit(status)


def register(main: click.Group) -> None:
    main.add_command(connect)
    main.add_command(sources_cmd)
    main.add_command(disconnect_cmd)
    main.add_command(run_cmd)
