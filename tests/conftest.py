"""Shared fixtures, used by name: real SQLite and a real PostgreSQL.

Plain helpers (paths of the test data, the CLI runner) are in ``tests/helpers.py``;
nothing imports this module.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from heavylegs.settings import Settings, load_settings
from heavylegs.store.db import make_engine, migrate
from tests import pgserver

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    if not pgserver.available():
        pytest.skip("initdb/pg_ctl not installed")
    server = pgserver.PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'heavylegs.db'}"
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return server.create_database(f"t_{worker}_{os.getpid()}_{next(_db_counter)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'heavylegs.db'}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "data", db=db_url, environ={})


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """(engine, settings) on SQLite only, for transport tests where the database plays no part."""
    settings = load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'lite.db'}", environ={})
    eng = make_engine(settings.db_url)
    migrate(eng)
    yield eng, settings
    eng.dispose()
