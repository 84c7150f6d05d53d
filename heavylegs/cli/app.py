"""What every command shares: settings, a lazily opened database, the athlete."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import click

# Imported where used: ``heavylegs --help`` must not pay for SQLAlchemy, rich or settings.
if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from heavylegs.settings import Settings


@dataclass
class App:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from heavylegs.service.private import prepare_store
            from heavylegs.store.db import make_engine, migrate
            from heavylegs.store.migrations import SchemaError

            prepare_store(self.settings.data_dir, self.settings.db_url)  # 0700 dir, 0600 SQLite files
            engine = make_engine(self.settings.db_url)
            try:
                migrate(engine)  # Alembic, only when the store is behind (heavylegs migrate)
            except SchemaError as exc:
                engine.dispose()
                raise click.ClickException(str(exc)) from exc
            self._engine = engine
        return self._engine

    def athlete_name(self, name: str | None) -> str:
        """The named athlete; else the configured default; else the only athlete there is."""
        if name:
            return name
        from sqlalchemy import select

        from heavylegs.store.db import read
        from heavylegs.store.tables import athletes

        default = self.settings.default_athlete
        with read(self.engine) as conn:
            names = [r[0] for r in conn.execute(select(athletes.c.name).limit(2))]
        if len(names) == 1 and default not in names:
            return names[0]
        return default

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_app = click.make_pass_decorator(App)

athlete_option = click.option("--athlete", "athlete", default=None, help="Athlete name (default: the configured default athlete).")


def table_console() -> Console:
    """A console for tables: a pipe or a file gets full-width rows, not 80 columns of ellipses."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def recompute_changed(app: App) -> None:
    """Bring the analysis up to date after new data."""
    from heavylegs.metrics.recompute import recompute_dirty
    from heavylegs.service.envs import analysis_env

    recompute_dirty(app.engine, analysis_env(app.settings))


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _read_key(app: App, key_file: str | None, key_env: str | None, label: str = "Garmin personal API key") -> str:
    """The key from a file, a variable, or a prompt without echo; never printed."""
    if key_file and key_env:
        raise click.UsageError("give --key-file or --key-env, not both")
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise click.UsageError(f"cannot read the key file: {exc.strerror}") from exc
    if key_env:
        value = app.settings.env.get(key_env, "").strip()
        if not value:
            raise click.UsageError(f"the environment variable {key_env} is not set or empty")
        return value
    if not sys.stdin.isatty():  # piped in: `heavylegs connect garmin --name g < key.txt`
        value = sys.stdin.readline().strip()
        if not value:
            raise click.UsageError("no key given: use --key-file FILE or --key-env VAR, pipe it in, or run on a terminal to be asked")
        return value
    return str(click.prompt(f"{label} (input hidden)", hide_input=True)).strip()
