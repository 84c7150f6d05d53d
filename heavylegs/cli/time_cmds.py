"""``set-start``: give an activity from a clockless device its real start time."""
from __future__ import annotations

import json

import click

from heavylegs.cli.app import App, athlete_option, pass_app
from heavylegs.store.start import StartError, parse_start, set_start


@click.command("set-start")
@click.argument("activity_id", type=int)
@click.argument("start")
@athlete_option
@click.option("--json", "as_json", is_flag=True, help="Print the new start as JSON.")
@pass_app
def set_start_cmd(app: App, activity_id: int, start: str, athlete: str | None, as_json: bool) -> None:
    """Set the start of an activity whose file has no real date (``time_known`` false).

    START is YYYY-MM-DDTHH:MM:SS with an optional UTC offset (+HH:MM); without
    one it is local time in the athlete's time zone. The activity (and its legs)
    move to that start, count in the analysis again, and the analysis is
    brought up to date.

    \b
    Examples:
      heavylegs set-start 42 2012-02-13T07:30:00+01:00
      heavylegs set-start 42 2012-02-13T07:30:00
    """
    name = app.athlete_name(athlete)
    zone = app.settings.athlete_zone(name)
    try:
        start_utc, offset = parse_start(start, zone)
    except StartError as exc:
        # A malformed START is a usage error (exit 2), like any other bad argument.
        raise click.BadParameter(str(exc), param_hint="START") from exc
    zone_name = None if any(c in start[10:] for c in "+-Z") else zone.key
    try:
        with app.engine.begin() as conn:
            done = set_start(conn, activity_id, start_utc, offset, zone_name)
    except StartError as exc:
        raise click.ClickException(str(exc)) from exc
    from heavylegs.cli.app import recompute_changed

    recompute_changed(app)
    out = {
        "id": done.activity_id,
        "start_utc": done.start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "utc_offset_s": done.utc_offset_s,
        "time_known": True,
        "moved_s": done.moved_s,
    }
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        sign, size = ("-" if offset < 0 else "+"), abs(offset)
        click.echo(f"activity {done.activity_id} now starts {out['start_utc']} (UTC offset {sign}{size // 3600:02d}:{size % 3600 // 60:02d})")


def register(main: click.Group) -> None:
    main.add_command(set_start_cmd)
