"""The ``heavylegs`` command: a thin wrapper over the library.

Global options come first: ``heavylegs --data-dir DIR --db URL --config FILE COMMAND``.

Start-up is kept short: ``heavylegs --help`` imports click and nothing of the
library (no settings, database, numpy or web stack), and a command imports
only the module that defines it. ``COMMANDS`` says which module that is and
carries each command's short help for the listing;
``tests/test_cli_startup.py`` checks it against the real commands.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from heavylegs.cli.app import App

# In registration order. The last three share the ``connect`` group, so they load together.
_MODULES = (
    "ingest_cmds", "analysis_cmds", "alert_cmds", "service_cmds", "strava_cmds", "source_cmds", "auth_cmds", "migrate_cmds"
)
_TOGETHER = ("service_cmds", "strava_cmds", "source_cmds")

# command -> (module registering it, short help as the command gives it)
COMMANDS: dict[str, tuple[str, str]] = {
    'activities': ('ingest_cmds', 'List stored activities.'),
    'alerts': ('alert_cmds', 'List alerts (without a subcommand), or check rules / deliver / test channels.'),
    'auth': ('auth_cmds', 'Login secrets for the web endpoint (service.auth).'),
    'backfill': ('source_cmds', "Fetch an account's history (Strava, Garmin, intervals.icu) within its rate limits, resumably."),
    'connect': ('service_cmds', 'Connect a source the service collects activities from.'),
    'disconnect': ('service_cmds', 'Remove a source.'),
    'import': ('ingest_cmds', 'Import activity files, folders and export archives.'),
    'migrate': ('migrate_cmds', "Upgrade the database to this version's schema (also done at every start)."),
    'load': ('analysis_cmds', 'Daily training load, load ratios (ACWR), fitness/fatigue and run streak.'),
    'polar': ('source_cmds', 'Polar AccessLink push notifications (webhooks).'),
    'rebuild': ('ingest_cmds', 'Re-decode every stored original file and rebuild activities and analysis.'),
    'report': ('analysis_cmds', 'Write a self-contained HTML report with charts.'),
    'run': ('service_cmds', 'Run the service: scan sources, analyse, alert, serve /healthz, /metrics and the report.'),
    'runs': ('analysis_cmds', 'Per-run metrics of qualifying runs: grade-adjusted pace, late fade, decoupling, cadence drop.'),
    'set-start': ('ingest_cmds', 'Set the start of an activity whose file has no real date (``time_known`` false).'),
    'show': ('ingest_cmds', 'Show one activity with its laps and a summary of its streams.'),
    'sources': ('service_cmds', 'List connected sources, their health and what they delivered.'),
    'strava': ('strava_cmds', 'Strava webhook subscription and connection status.'),
    'sync': ('source_cmds', 'Sync one source now (or every enabled source), as the service does on its schedule.'),
}


class LazyGroup(click.Group):
    """A group whose command modules are imported when a command is looked up.

    ``commands`` (the attribute click and the tests read) loads every module
    on first access; looking up one command loads only its module.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loaded: set[str] = set()
        self._loading = False
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        if not self._loading and len(self._loaded) < len(_MODULES):
            self._load(_MODULES)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def _load(self, modules: tuple[str, ...]) -> None:
        loading, self._loading = self._loading, True
        try:
            for name in _MODULES:
                if name in modules and name not in self._loaded:
                    self._loaded.add(name)
                    importlib.import_module(f"heavylegs.cli.{name}").register(self)
        finally:
            self._loading = loading

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._commands and cmd_name in COMMANDS:
            module = COMMANDS[cmd_name][0]
            self._load(_TOGETHER if module in _TOGETHER else (module,))
        return self._commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing of ``--help`` from ``COMMANDS``, without importing the commands."""
        names = sorted(set(self._commands) | set(COMMANDS))
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            cmd = self._commands.get(name)
            if cmd is None:
                rows.append((name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)))
            elif not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (env HEAVYLEGS_DATA_DIR).")
@click.option("--db", "db_url", help="SQLAlchemy database URL (env HEAVYLEGS_DB).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML config file (env HEAVYLEGS_CONFIG).")
@click.version_option(package_name="heavylegs")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, db_url: str | None, config_path: str | None) -> None:
    """heavylegs: notice overloaded legs in your own watch data, before an injury does."""
    from heavylegs.settings import ConfigError, load_settings  # pydantic: ~0.1 s, not for --help

    try:
        settings = load_settings(config=config_path, data_dir=data_dir, db=db_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = App(settings)
    ctx.call_on_close(ctx.obj.close)


def run() -> None:  # pragma: no cover - console entry alias
    sys.exit(main())
