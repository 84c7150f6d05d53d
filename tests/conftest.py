"""Shared fixtures: real SQLite and a real PostgreSQL, the corpus, a CLI runner."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from heavylegs.settings import Settings, load_settings
from heavylegs.store.db import make_engine, migrate
from tests import pgserver

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent (only in the project workspace)")

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


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``heavylegs`` CLI as a real subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "heavylegs", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )
