"""Commands for every source kind: ``connect garmin``, ``sync [NAME]`` and ``backfill --source NAME``
(``connect polar|intervals`` and ``polar subscribe`` are in ``source_connect_cmds``)."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from heavylegs.cli.app import App, _fail, _read_key, athlete_option, pass_app, recompute_changed

EX_TEMPFAIL = 75  # sysexits: try again later (a rate limit asked us to wait)


@click.command("garmin")
@click.option("--name", "source_name", required=True, help="Name of the source to create (or reconnect with a new key).")
@athlete_option
@click.option("--key-file", type=click.Path(dir_okay=False), help="File holding the personal API key.")
@click.option("--key-env", metavar="VAR", help="Environment variable holding the personal API key.")
@click.option("--key-expires", type=click.DateTime(formats=["%Y-%m-%d"]), help="The key's expiry date (YYYY-MM-DD), shown when you created it.")
@pass_app
def connect_garmin(app: App, source_name: str, athlete: str | None, key_file: str | None, key_env: str | None, key_expires: datetime | None) -> None:
    """Connect a Garmin account with a personal API key (Garmin Connect Personal API).

    Create the key in Garmin Connect on the web (it is shown once). Without
    --key-file/--key-env the key is asked for without echo (or read from a pipe).
    It is checked with Garmin at once and stored encrypted; it is never shown again.
    Running this again with the same --name and a new key keeps the source's activities.

    \b
    Examples:
      heavylegs connect garmin --name garmin                      # asks for the key
      heavylegs connect garmin --name garmin --key-file ~/garmin.key --key-expires 2027-03-01
      GARMIN_KEY=... heavylegs connect garmin --name garmin --key-env GARMIN_KEY
    """
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError
    from heavylegs.sources.registry import get_kind

    key = _read_key(app, key_file, key_env)
    if not key:
        _fail("the key is empty")
    try:
        message = get_kind("garmin").connect(app.engine, source_env(app.settings), source_name, app.athlete_name(athlete), click.echo,
                                             key=key, key_expires=key_expires.date() if key_expires else None)
    except SourceError as exc:
        _fail(str(exc))
        return
    click.echo(message)
    click.echo(f"Next: heavylegs sync {source_name}   (older runs: heavylegs backfill --source {source_name} --since YYYY-MM-DD;"
               " import your Garmin export first to save requests)")


@click.command("sync")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_app
def sync_cmd(app: App, name: str | None, as_json: bool) -> None:
    """Sync one source now (or every enabled source), as the service does on its schedule.

    Exits 1 when a source failed or needs to be connected again.

    \b
    Examples:
      heavylegs sync garmin
      heavylegs sync --json
    """
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError, SyncResult, never_stop
    from heavylegs.sources.registry import get_kind
    from heavylegs.sources.store import get_source, list_sources, record_result

    if name is not None:
        one = get_source(app.engine, name)
        if one is None:
            _fail(f"no source named {name!r} (see heavylegs sources)")
        chosen = [one]
    else:
        chosen = list_sources(app.engine, enabled_only=True)
    out: list[dict[str, Any]] = []
    stop = never_stop()
    for source in chosen:
        now = datetime.now(timezone.utc)
        try:
            result = get_kind(source.kind).sync(app.engine, source_env(app.settings), source, now, stop=stop)
        except SourceError as exc:
            result = SyncResult(status="error", error=str(exc))
        record_result(app.engine, int(source.id), result, now.timestamp())
        out.append({"name": source.name, "kind": source.kind} | result.as_dict())
    if any(r["new"] for r in out):
        recompute_changed(app)
    if as_json:
        click.echo(json.dumps(out[0] if name is not None else out))
    else:
        for r in out:
            line = f"{r['name']} ({r['kind']}): new {r['new']}, already stored {r['duplicates']}, failed {r['failed']}, status {r['status']}"
            click.echo(line + (f" - {r['error']}" if r["error"] else "") + (f" [{r['summary']}]" if r["summary"] else ""))
        if not out:
            click.echo("no sources; connect one with heavylegs connect folder|strava|garmin|polar|intervals")
    if any(r["status"] != "ok" for r in out):
        sys.exit(1)


def _default_backfill_source(app: App) -> str:
    """``backfill`` without --source: the source named strava, or the only Strava source there is."""
    from heavylegs.sources.store import get_source, list_sources

    if get_source(app.engine, "strava") is not None:
        return "strava"
    stravas = [s.name for s in list_sources(app.engine) if s.kind == "strava"]
    return stravas[0] if len(stravas) == 1 else "strava"


def _countdown(console: Any, label: str, resume_at: float) -> None:
    with console.status("") as status:
        while (left := resume_at - time.time()) > 0:
            status.update(f"{label} rate limit reached: resuming in {int(left) // 60}:{int(left) % 60:02d} (Ctrl-C to stop; a rerun resumes)")
            time.sleep(min(1.0, left))


@click.command("backfill")
@click.option("--source", "source_name", default=None, help="The source to backfill (default: the Strava source).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (UTC) to backfill; default: all history.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (UTC) to backfill; default: today.")
@click.option("--dry-run", is_flag=True, help="List and plan only: print the requests needed and how long they take.")
@click.option("--no-wait", is_flag=True, help=f"When the rate limit is out, save the position and exit {EX_TEMPFAIL}.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_app
def backfill_cmd(app: App, source_name: str | None, since: datetime | None, until: datetime | None, dry_run: bool, no_wait: bool, as_json: bool) -> None:
    """Fetch an account's history (Strava, Garmin, intervals.icu) within its rate limits, resumably.

    Import your bulk export first: runs already stored cost no download.

    \b
    Examples:
      heavylegs backfill --source strava --dry-run
      heavylegs backfill --source garmin --since 2019-01-01
      heavylegs backfill --source garmin --no-wait --json   # exit 75 when paused
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import BackfillOptions, NeedsReauth, NotSupported, SourceError
    from heavylegs.sources.registry import get_kind
    from heavylegs.sources.store import get_source

    name = source_name or _default_backfill_source(app)
    source = get_source(app.engine, name)
    if source is None:
        _fail(f"no source named {name!r}: " + ("run heavylegs connect strava first" if source_name is None else "see heavylegs sources"))
        return
    label = source.kind.capitalize()
    console = Console(stderr=True)
    progress = Progress(TextColumn("downloading" if source.kind != "strava" else "fetching streams"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[eta]}"), console=console, disable=as_json or not console.is_terminal)
    task = progress.add_task("items", total=None, eta="")

    def on_progress(done: int, total: int, eta_s: float) -> None:
        progress.update(task, completed=done, total=total, eta=f"ETA {timedelta(seconds=int(eta_s))} at current limits")

    def on_wait(resume_at: float) -> None:
        progress.stop()
        _countdown(console, label, resume_at)
        progress.start()

    options = BackfillOptions(since=since.date() if since else None, until=until.date() if until else None, dry_run=dry_run, wait=not no_wait)
    try:
        with progress:
            report = get_kind(source.kind).backfill(app.engine, source_env(app.settings), source, options, on_progress=on_progress, on_wait=on_wait)
    except NotSupported as exc:
        if as_json:
            click.echo(json.dumps({"status": "not_supported", "error": str(exc)}))
        _fail(str(exc))
        return
    except NeedsReauth as exc:
        _fail(str(exc))
        return
    except SourceError as exc:
        if source.kind == "strava":  # Strava not configured: a usage error, as before
            raise click.UsageError(str(exc)) from exc
        _fail(str(exc))
        return
    if report.fetched and not dry_run:

        recompute_changed(app)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    elif report.status == "planned" and report.plan is not None:
        plan = report.plan
        eta = plan["seconds_at_current_limits"]
        click.echo(f"{report.listed} activities in range, {report.already_present} already present (no request needed).")
        wanted = plan.get("stream_requests", plan.get("download_requests", 0))
        click.echo(f"Requests: {plan['list_requests']} list (done), {wanted} {'streams' if source.kind == 'strava' else 'downloads'} to fetch.")
        usage = f" ({plan['usage']})" if plan.get("usage") else ""
        click.echo("Time at current limits: " + ("now" if eta == 0 else str(timedelta(seconds=int(eta)))) + f"{usage}.")
    else:
        click.echo(f"listed {report.listed}, already present {report.already_present}, fetched {report.fetched}, "
                   f"failed {len(report.failed)}, requests {report.requests}")
    if report.status == "paused":
        when = datetime.fromtimestamp(report.resume_at or time.time(), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        click.echo(f"{label} rate limit reached: position saved. Resume after {when} by running the same command.", err=True)
        sys.exit(EX_TEMPFAIL)


def register(main: click.Group) -> None:
    found = main.commands.get("connect")
    if isinstance(found, click.Group):
        connect = found
    else:
        connect = click.Group("connect", help="Connect a source the service collects activities from.")
        main.add_command(connect)
    connect.add_command(connect_garmin, "garmin")
    from heavylegs.cli.source_connect_cmds import connect_intervals, connect_polar, polar_group

    connect.add_command(connect_polar, "polar")
    connect.add_command(connect_intervals, "intervals")
    main.add_command(polar_group)
    main.add_command(sync_cmd)
    main.add_command(backfill_cmd)
