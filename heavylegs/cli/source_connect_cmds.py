"""``connect polar``, ``connect intervals`` and ``polar subscribe`` (registered by ``source_cmds``)."""
from __future__ import annotations

import click

from heavylegs.cli.app import App, _fail, _read_key, athlete_option, pass_app


@click.command("polar")
@click.option("--name", "source_name", required=True, help="Name of the source to create (or reconnect).")
@athlete_option
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option("--timeout", "timeout_s", default=300.0, show_default=True, help="Seconds to wait for Polar's redirect.")
@pass_app
def connect_polar(app: App, source_name: str, athlete: str | None, no_browser: bool, timeout_s: float) -> None:
    """Connect a Polar Flow account through Polar AccessLink (OAuth in the browser, callback on 127.0.0.1).

    Needs your own API client from https://admin.polaraccesslink.com ([polar]
    client_id and client_secret) with the redirect URL
    http://127.0.0.1:8722/oauth/polar/callback (the port is polar.callback_port).
    Polar serves only the last 30 days: import Polar Flow's data export for older runs.

    \b
    Examples:
      heavylegs connect polar --name polar
      heavylegs connect polar --name polar --no-browser --athlete alice
    """
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError
    from heavylegs.sources.registry import get_kind

    try:
        message = get_kind("polar").connect(app.engine, source_env(app.settings), source_name, app.athlete_name(athlete), click.echo,
                                            no_browser=no_browser, timeout_s=timeout_s)
    except SourceError as exc:
        _fail(str(exc))
        return
    click.echo(message)
    click.echo(f"Next: heavylegs sync {source_name}")


@click.command("intervals")
@click.option("--name", "source_name", required=True, help="Name of the source to create (or reconnect with a new key).")
@click.option("--athlete-id", required=True, help="Your intervals.icu athlete id (i12345, shown in Settings), or 0 for the key's owner.")
@athlete_option
@click.option("--key-file", type=click.Path(dir_okay=False), help="File holding the API key.")
@click.option("--key-env", metavar="VAR", help="Environment variable holding the API key.")
@pass_app
def connect_intervals(app: App, source_name: str, athlete_id: str, athlete: str | None, key_file: str | None, key_env: str | None) -> None:
    """Connect an intervals.icu account with its personal API key.

    Find the key and the athlete id in intervals.icu under Settings, Developer
    Settings. Without --key-file/--key-env the key is asked for without echo (or
    read from a pipe). It is checked at once and stored encrypted. Activities
    intervals.icu got from Strava are not served through its API: they are skipped
    and counted.

    \b
    Examples:
      heavylegs connect intervals --name icu --athlete-id i12345
      heavylegs connect intervals --name icu --athlete-id i12345 --key-file ~/icu.key
    """
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError
    from heavylegs.sources.registry import get_kind

    key = _read_key(app, key_file, key_env, label="intervals.icu API key")
    if not key:
        _fail("the key is empty")
    try:
        message = get_kind("intervals").connect(app.engine, source_env(app.settings), source_name, app.athlete_name(athlete), click.echo,
                                                key=key, athlete_id=athlete_id)
    except SourceError as exc:
        _fail(str(exc))
        return
    click.echo(message)
    click.echo(f"Next: heavylegs sync {source_name}   (older runs: heavylegs backfill --source {source_name} --since YYYY-MM-DD;"
               " import your files first to save requests)")


@click.group("polar")
def polar_group() -> None:
    """Polar AccessLink push notifications (webhooks)."""


@polar_group.command("subscribe")
@click.option("--url", "base_url", required=True, help="Public https URL of this heavylegs service (e.g. https://legs.example.org).")
@pass_app
def polar_subscribe(app: App, base_url: str) -> None:
    """Ask Polar to notify this service of new exercises (optional: the sync polls anyway).

    Creates a webhook for your Polar API client pointing at
    URL/webhooks/polar/<random secret path>; the service must be reachable there
    and running (Polar checks it with a PING). The signing key Polar returns is
    stored encrypted.

    \b
    Example:
      heavylegs polar subscribe --url https://legs.example.org
    """
    from heavylegs.service.envs import source_env
    from heavylegs.sources.base import SourceError
    from heavylegs.sources.polar_webhook import subscribe

    try:
        url = subscribe(app.engine, source_env(app.settings), base_url)
    except SourceError as exc:
        _fail(str(exc))
        return
    click.echo(f"Polar will notify {url.rsplit('/', 1)[0]}/<secret> of new exercises (the signing key is stored encrypted).")
