"""``heavylegs alerts``: list alerts, check rules, flush the outbox, test and inspect channels."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import click

from heavylegs.cli.app import App, pass_app
from heavylegs.settings import ConfigError


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _deliveries_text(alert: dict[str, Any]) -> str:
    if alert["state"] == "suppressed":
        return "suppressed (in the history summary)"
    parts = []
    for d in alert["deliveries"]:
        text = f"{d['channel']}: {d['status']}"
        if d["attempts"] > 1:
            text += f" after {d['attempts']} attempts"
        if d["last_error"] and d["status"] != "delivered":
            text += f" ({d['last_error']})"
        parts.append(text)
    return "; ".join(parts) or "no channel"


def _summary_line(summary: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in summary.as_dict().items())


@click.group("alerts", invoke_without_command=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only alerts dated on or after DATE (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_context
def alerts_group(ctx: click.Context, since: datetime | None, as_json: bool) -> None:
    """List alerts (without a subcommand), or check rules / deliver / test channels.

    \b
    Examples:
      heavylegs alerts --since 2024-06-01
      heavylegs alerts --json | jq '.[] | select(.rule == "late_fade")'
    """
    if ctx.invoked_subcommand is not None:
        return
    from heavylegs.alerts.query import list_alerts

    app = ctx.find_object(App)
    assert app is not None  # main() always puts it on the context
    rows = list_alerts(app.engine, since=since.date() if since else None)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No alerts.")
        return
    for a in rows:
        when = a["date"] or "-"
        click.echo(f"{when}  {a['severity']:<8} {a['rule']:<15} {a['athlete']}  [{a['id'][:12]}]")
        click.echo(f"    {a['message']}")
        click.echo(f"    delivery: {_deliveries_text(a)}")


def _run(fn: Any) -> Any:
    try:
        return fn()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@alerts_group.command("check")
@pass_app
def check_cmd(app: App) -> None:
    """Evaluate the rules now, queue new alerts, then deliver what is due.

    \b
    Example:
      heavylegs alerts check
    """
    from heavylegs.alerts.delivery import deliver_due
    from heavylegs.alerts.engine import check
    from heavylegs.service.jobs import alerts_context

    now = _now()
    found = _run(lambda: check(app.engine, alerts_context(app.settings), now))
    click.echo(f"checked: {_summary_line(found)}")
    sent = _run(lambda: deliver_due(app.engine, alerts_context(app.settings), now))
    click.echo(f"delivery: {_summary_line(sent)}")


@alerts_group.command("deliver")
@click.option("--now", "now_", is_flag=True, help="Also send what quiet hours hold back.")
@pass_app
def deliver_cmd(app: App, now_: bool) -> None:
    """Send everything in the outbox now, ignoring backoff. Exit 1 while some deliveries wait.

    \b
    Examples:
      heavylegs alerts deliver          # quiet hours still hold back non-urgent alerts
      heavylegs alerts deliver --now    # send those too
    """
    from heavylegs.alerts.delivery import deliver_due
    from heavylegs.service.jobs import alerts_context

    sent = _run(lambda: deliver_due(app.engine, alerts_context(app.settings), _now(), force=True, quiet=not now_))
    click.echo(f"delivery: {_summary_line(sent)}")
    if sent.pending:
        sys.exit(1)


@alerts_group.command("test")
@click.option("--channel", default=None, help="Only this channel (default: every channel).")
@pass_app
def test_cmd(app: App, channel: str | None) -> None:
    """Send a clearly marked test alert through the channels.

    \b
    Examples:
      heavylegs alerts test                 # every configured channel
      heavylegs alerts test --channel hook
    """
    from heavylegs.alerts.delivery import send_test
    from heavylegs.alerts.query import list_alerts
    from heavylegs.alerts.transports.registry import channel_warnings
    from heavylegs.service.jobs import alerts_context, channel_env

    for warning in channel_warnings(channel_env(app.settings)):
        click.echo(f"warning: {warning}", err=True)
    ident, sent = _run(lambda: send_test(app.engine, alerts_context(app.settings), _now(), channel))
    row = next(a for a in list_alerts(app.engine) if a["id"] == ident)
    for d in row["deliveries"]:
        verdict = "ok" if d["status"] == "delivered" else f"{d['status']}: {d['last_error']}"
        click.echo(f"{d['channel']}: {verdict}")
    if sent.delivered < sent.attempted or sent.attempted == 0:
        sys.exit(1)


@alerts_group.command("digest")
@click.option("--athlete", default=None, help="Only this athlete (default: every athlete).")
@pass_app
def digest_cmd(app: App, athlete: str | None) -> None:
    """Queue today's daily digest and deliver it now, whatever alerts.digest_time and quiet hours say.

    \b
    Examples:
      heavylegs alerts digest
      heavylegs alerts digest --athlete alice
    A digest is made once per athlete and local day: a second run sends nothing new.
    Exit 1 while a digest still waits for delivery.
    """
    from heavylegs.alerts.digest import send_digest
    from heavylegs.service.jobs import alerts_context

    names = [athlete] if athlete else None
    done = _run(lambda: send_digest(app.engine, alerts_context(app.settings), _now(), names, force=True, quiet=False))
    if athlete and done.athletes == 0:
        raise click.UsageError(f"no athlete named {athlete!r}")
    click.echo(f"digest: {_summary_line(done)}")
    if done.pending:
        sys.exit(1)


@alerts_group.command("channels")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_app
def channels_cmd(app: App, as_json: bool) -> None:
    """Each channel's last success, last error, permanent error and pending deliveries.

    \b
    Examples:
      heavylegs alerts channels
      heavylegs alerts channels --json
    """
    from heavylegs.alerts.query import channel_status
    from heavylegs.service.jobs import channel_env

    rows = _run(lambda: channel_status(app.engine, channel_env(app.settings)))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for c in rows:
        click.echo(f"{c['name']} ({c['kind']}): last success {c['last_success'] or 'never'}, pending {c['pending']}")
        if c["permanent_error"]:
            click.echo(f"    PERMANENT ERROR: {c['permanent_error']}")
        elif c["last_error"]:
            click.echo(f"    last error: {c['last_error']}")


def register(main: click.Group) -> None:
    main.add_command(alerts_group)
