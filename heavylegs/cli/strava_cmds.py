"""Strava commands: ``connect strava``, ``strava subscribe|unsubscribe|status`` (``backfill`` is in source_cmds: every kind)."""
from __future__ import annotations

import json
import sys

import click

from heavylegs.cli.app import App, athlete_option, pass_app


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
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError
    from heavylegs.sources.registry import check_name, get_kind
    from heavylegs.strava.tokens import NotConfigured

    try:
        check_name(source_name)
    except SourceError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        message = get_kind("strava").connect(app.engine, source_env(app.settings), source_name, app.athlete_name(athlete), click.echo,
                                             no_browser=no_browser, timeout_s=timeout_s)
    except NotConfigured as exc:  # a usage error (exit 2), as before
        raise click.UsageError(str(exc)) from exc
    except SourceError as exc:  # refused, timed out, state mismatch: exit 1
        _fail(str(exc))
        return
    click.echo(message)
    click.echo("Next: heavylegs backfill --source strava  (import your Strava bulk export first to save requests)")


@click.group("strava")
def strava_group() -> None:
    """Strava webhook subscription and connection status."""


@strava_group.command("subscribe")
@click.option("--callback-url", required=True, help="Public URL of this service's /webhooks/strava (a secret path segment is appended).")
@pass_app
def subscribe_cmd(app: App, callback_url: str) -> None:
    """Ask Strava to push activity events to CALLBACK-URL (the service must be reachable there).

    \b
    Example:
      heavylegs strava subscribe --callback-url https://legs.example.org/webhooks/strava
    """
    from heavylegs.service.envs import source_env
    from heavylegs.strava.subscription import subscribe
    from heavylegs.strava.tokens import NotConfigured
    from ingest.strava.client import StravaError

    try:
        sid = subscribe(app.engine, source_env(app.settings), callback_url)
    except NotConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    except StravaError as exc:
        _fail(f"Strava refused the subscription: {exc}")
    click.echo(f"subscribed: id {sid}, events go to {callback_url.rstrip('/')}/<secret> (a random path only Strava learns; strava status shows it)")


@strava_group.command("unsubscribe")
@pass_app
def unsubscribe_cmd(app: App) -> None:
    """Delete the webhook subscription.

    \b
    Example:
      heavylegs strava unsubscribe
    """
    from heavylegs.service.envs import source_env
    from heavylegs.strava.subscription import unsubscribe
    from ingest.strava.client import StravaError

    try:
        sid = unsubscribe(app.engine, source_env(app.settings))
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
    from heavylegs.service.envs import source_env
    from heavylegs.strava.source import overview

    info = overview(app.engine, source_env(app.settings))
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
    found = main.commands.get("connect")
    if isinstance(found, click.Group):
        connect = found
    else:
        connect = click.Group("connect", help="Connect an online account as a source.")
        main.add_command(connect)
    connect.add_command(connect_strava, "strava")
    main.add_command(strava_group)
