"""Strava commands: ``connect strava``, ``backfill``, ``strava subscribe|unsubscribe|status``."""
from __future__ import annotations

import json
import sys
import time
import webbrowser
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from heavylegs.cli.app import App, athlete_option, pass_app

EX_TEMPFAIL = 75  # sysexits: try again later (the rate limit is out)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("strava")
@athlete_option
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option("--name", "source_name", default="strava", show_default=True, help="Name of the source to create or reconnect.")
@click.option("--timeout", "timeout_s", default=300.0, show_default=True, help="Seconds to wait for Strava's redirect.")
@pass_app
def connect_strava(app: App, athlete: str | None, no_browser: bool, source_name: str, timeout_s: float) -> None:
    """Connect a Strava account (OAuth in the browser, callback on 127.0.0.1).

    \b
    Examples:
      heavylegs connect strava
      heavylegs connect strava --no-browser --athlete alice
    """
    from heavylegs.strava.api import NotConfigured
    from heavylegs.strava.connect import begin
    from heavylegs.strava.loopback import CallbackServer

    try:
        state, url = begin(app.engine, app.settings, app.athlete_name(athlete), source_name)
    except NotConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    server = CallbackServer(app.engine, app.settings, state)
    if not server.start():
        click.echo(f"port {app.settings.get('strava.callback_port')} is in use: waiting for the heavylegs service to receive the callback")
    if no_browser or not webbrowser.open(url):
        click.echo("Open this URL in a browser to authorize heavylegs on Strava:")
        click.echo(url)
    else:
        click.echo("Authorize heavylegs in the browser window that just opened.")
    sys.stdout.flush()
    outcome = server.wait(timeout_s)
    if not outcome.ok:
        _fail(outcome.message)
    click.echo(outcome.message)
    click.echo("Next: heavylegs backfill --source strava  (import your Strava bulk export first to save requests)")


def _day(value: datetime | None, shift_days: int = 0) -> int:
    if value is None:
        return 0
    return int((value.replace(tzinfo=timezone.utc) + timedelta(days=shift_days)).timestamp())


def _countdown(console: Any, resume_at: float) -> None:
    with console.status("") as status:
        while (left := resume_at - time.time()) > 0:
            status.update(f"Strava rate limit reached: resuming in {int(left) // 60}:{int(left) % 60:02d} (Ctrl-C to stop; a rerun resumes)")
            time.sleep(min(1.0, left))


@click.command("backfill")
@click.option("--source", "source_name", default="strava", show_default=True, help="The Strava source to backfill.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (UTC) to backfill; default: all history.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (UTC) to backfill; default: today.")
@click.option("--dry-run", is_flag=True, help="List and plan only: print the requests needed and how long they take.")
@click.option("--no-wait", is_flag=True, help=f"When the rate limit is out, save the position and exit {EX_TEMPFAIL}.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_app
def backfill_cmd(app: App, source_name: str, since: datetime | None, until: datetime | None, dry_run: bool, no_wait: bool, as_json: bool) -> None:
    """Fetch Strava history within the rate limits, resumably.

    Import your Strava bulk export first: runs already stored cost no request.

    \b
    Examples:
      heavylegs backfill --source strava --dry-run
      heavylegs backfill --source strava --since 2019-01-01
      heavylegs backfill --source strava --no-wait --json   # exit 75 when paused
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from heavylegs.service.sources import get_source
    from heavylegs.strava import backfill
    from heavylegs.strava.api import NotConfigured, credentials, source_client
    from heavylegs.strava.tokens import NeedsReauth

    source = get_source(app.engine, source_name)
    if source is None or source.kind != "strava":
        _fail(f"no Strava source named {source_name!r}: run heavylegs connect strava first")
    try:
        credentials(app.settings)
    except NotConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    console = Console(stderr=True)
    client, _ = source_client(app.engine, app.settings, int(source.id), use_reserve=False)
    progress = Progress(TextColumn("fetching streams"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[eta]}"),
                        console=console, disable=as_json or not console.is_terminal)
    task = progress.add_task("streams", total=None, eta="")

    def on_progress(done: int, total: int, eta_s: float) -> None:
        progress.update(task, completed=done, total=total, eta=f"ETA {timedelta(seconds=int(eta_s))} at current limits")

    def on_wait(resume_at: float) -> None:
        progress.stop()
        _countdown(console, resume_at)
        progress.start()

    try:
        with progress:
            report = backfill.run(
                app.engine, app.settings, source, client, after_ts=max(0, _day(since) - 1), before_ts=_day(until, 1),
                wait=not no_wait, dry_run=dry_run, on_progress=on_progress, on_wait=on_wait,
            )
    except NeedsReauth as exc:
        _fail(f"{exc}")
        return
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    elif report.status == "planned" and report.plan is not None:
        plan = report.plan
        eta = plan["seconds_at_current_limits"]
        click.echo(f"{report.listed} activities in range, {report.already_present} already present (no request needed).")
        click.echo(f"Requests: {plan['list_requests']} list (done), {plan['stream_requests']} streams to fetch.")
        click.echo("Time at current limits: " + ("now" if eta == 0 else str(timedelta(seconds=int(eta)))) + f" ({plan['usage']}).")
    else:
        click.echo(f"listed {report.listed}, already present {report.already_present}, fetched {report.fetched}, "
                   f"failed {len(report.failed)}, requests {report.requests}")
    if report.status == "paused":
        when = datetime.fromtimestamp(report.resume_at or time.time(), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        click.echo(f"Strava rate limit reached: position saved. Resume after {when} by running the same command.", err=True)
        sys.exit(EX_TEMPFAIL)


@click.group("strava")
def strava_group() -> None:
    """Strava webhook subscription and connection status."""


@strava_group.command("subscribe")
@click.option("--callback-url", required=True, help="Public URL of this service's /webhooks/strava.")
@pass_app
def subscribe_cmd(app: App, callback_url: str) -> None:
    """Ask Strava to push activity events to CALLBACK-URL (the service must be reachable there).

    \b
    Example:
      heavylegs strava subscribe --callback-url https://legs.example.org/webhooks/strava
    """
    from heavylegs.strava.api import NotConfigured
    from heavylegs.strava.subscription import subscribe
    from ingest.strava.client import StravaError

    try:
        sid = subscribe(app.engine, app.settings, callback_url)
    except NotConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    except StravaError as exc:
        _fail(f"Strava refused the subscription: {exc}")
    click.echo(f"subscribed: id {sid}, events go to {callback_url}")


@strava_group.command("unsubscribe")
@pass_app
def unsubscribe_cmd(app: App) -> None:
    """Delete the webhook subscription.

    \b
    Example:
      heavylegs strava unsubscribe
    """
    from heavylegs.strava.subscription import unsubscribe
    from ingest.strava.client import StravaError

    try:
        sid = unsubscribe(app.engine, app.settings)
    except StravaError as exc:
        _fail(f"Strava refused: {exc}")
    click.echo("no subscription" if sid is None else f"unsubscribed: id {sid}")


@strava_group.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def status_cmd(app: App, as_json: bool) -> None:
    """Connected sources, token expiry, stored activities and the webhook subscription.

    \b
    Example:
      heavylegs strava status
    """
    from heavylegs.strava.status import overview

    info = overview(app.engine, app.settings)
    if as_json:
        click.echo(json.dumps(info, default=str))
        return
    for src in info["sources"]:
        click.echo(f"source {src['name']}: athlete {src['athlete']}, status {src['status']}, enabled {src['enabled']}, "
                   f"token {'expires ' + src['token_expires'] if src['token_expires'] else 'missing'}, activities {src['activities']}")
    if not info["sources"]:
        click.echo("no Strava source: run heavylegs connect strava")
    sub = info["subscription"]
    click.echo("webhooks: " + (f"subscription {sub['subscription_id']} -> {sub['callback_url']}" if sub else "not subscribed"))
    if info.get("strava_error"):
        click.echo(f"(could not ask Strava: {info['strava_error']})")


def register(main: click.Group) -> None:
    connect = main.commands.get("connect")
    if not isinstance(connect, click.Group):
        @click.group("connect")
        def connect() -> None:  # type: ignore[misc]
            """Connect an online account as a source."""

        main.add_command(connect)
    connect.add_command(connect_strava, "strava")
    main.add_command(backfill_cmd)
    main.add_command(strava_group)
