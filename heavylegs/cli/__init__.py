"""The ``heavylegs`` command: a thin wrapper over the library.

Global options come first: ``heavylegs --data-dir DIR --db URL --config FILE COMMAND``.
"""
from __future__ import annotations

import sys

import click

from heavylegs.cli.app import App
from heavylegs.settings import ConfigError, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (env HEAVYLEGS_DATA_DIR).")
@click.option("--db", "db_url", help="SQLAlchemy database URL (env HEAVYLEGS_DB).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML config file (env HEAVYLEGS_CONFIG).")
@click.version_option(package_name="heavylegs")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, db_url: str | None, config_path: str | None) -> None:
    """heavylegs: notice overloaded legs in your own watch data, before an injury does."""
    try:
        settings = load_settings(config=config_path, data_dir=data_dir, db=db_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = App(settings)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from heavylegs.cli import alert_cmds, analysis_cmds, ingest_cmds, service_cmds, strava_cmds

    for module in (ingest_cmds, analysis_cmds, alert_cmds, service_cmds, strava_cmds):
        module.register(main)


_register()


def run() -> None:  # pragma: no cover - console entry alias
    sys.exit(main())
