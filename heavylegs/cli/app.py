"""What every command shares: settings, a lazily opened database, the athlete."""
from __future__ import annotations

from dataclasses import dataclass, field

import click
from sqlalchemy import Engine

from heavylegs.settings import Settings
from heavylegs.store.db import make_engine, migrate


@dataclass
class App:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._engine = make_engine(self.settings.db_url)
            migrate(self._engine)
        return self._engine

    def athlete_name(self, name: str | None) -> str:
        return name or self.settings.default_athlete

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_app = click.make_pass_decorator(App)

athlete_option = click.option("--athlete", "athlete", default=None, help="Athlete name (default: the configured default athlete).")
