"""Engine creation, read and write transactions, and schema migration for SQLite
(default) and PostgreSQL.

On SQLite a writing transaction (``write(engine)``, ``engine.begin()``) takes the
write lock up front (BEGIN IMMEDIATE), so two writers queue instead of
deadlocking on an upgrade. A reading one (``read(engine)``) begins DEFERRED: WAL
gives it a snapshot, so it never waits for a writer, even one that holds the
lock for a long recompute. ``/healthz``, the report and the CLI listings read.
"""
from __future__ import annotations

import time
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import make_url

from heavylegs.store import schema  # noqa: F401  (registers every table on the metadata)
from heavylegs.store.meta import metadata
from heavylegs.store.tables import schema_version

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets a one-off import write while the service reads and writes;
    # the busy timeout makes writers queue instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# Execution option that marks a connection from read(): its SQLite transaction begins DEFERRED.
READ_ONLY = "heavylegs_read_only"


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")  # deferred: a snapshot, no lock to wait for
    else:
        # Take the write lock up front so two writers never deadlock on upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection for reading only; it never takes (or waits for) SQLite's write lock.

    Its transaction is rolled back at the end, so a write made through it is lost
    (and on SQLite may fail with "database is locked"): writers use ``write``.
    """
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        yield conn


def write(engine: Engine) -> AbstractContextManager[Connection]:
    """A writing transaction, committed at the end (the same as ``engine.begin()``)."""
    return engine.begin()


def make_engine(url: str, create_dirs: bool = True) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and create_dirs:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error's text (logged, shown in `sources`) must not carry
        # the values of the query (tokens, names, paths).
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _add_time_known(conn: Connection) -> None:
    """activities.time_known (issue 14); guarded, so a store that has it already is left alone."""
    have = {c["name"] for c in inspect(conn).get_columns("activities")}
    if "time_known" not in have:
        conn.execute(text("ALTER TABLE activities ADD COLUMN time_known BOOLEAN NOT NULL DEFAULT TRUE"))


# Numbered upgrades for databases created by an older heavylegs. Version 1 is
# the first schema; create_all adds new tables, these change existing ones.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _add_time_known}
CURRENT_VERSION = 2


def _version_if_current(engine: Engine) -> int | None:
    """The schema version when every table exists and no migration is pending, else None.
    Looked at with a read, so a CLI listing never queues behind a writer at start-up."""
    with read(engine) as conn:
        if not set(metadata.tables) <= set(inspect(conn).get_table_names()):
            return None
        current = conn.execute(select(func.max(schema_version.c.version))).scalar()
    return int(current) if current is not None and current >= CURRENT_VERSION else None


def migrate(engine: Engine) -> int:
    """Create missing tables and apply pending migrations; returns the schema version."""
    current = _version_if_current(engine)
    if current is not None:
        return current
    with engine.begin() as conn:
        if is_sqlite(engine):
            pass
        else:
            # Serialise concurrent first starts on PostgreSQL.
            conn.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
        metadata.create_all(conn, checkfirst=True)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar()
        if current is None:
            conn.execute(insert(schema_version).values(version=CURRENT_VERSION, applied_ts=time.time()))
            return CURRENT_VERSION
        for version in sorted(v for v in MIGRATIONS if v > current):
            MIGRATIONS[version](conn)
            conn.execute(insert(schema_version).values(version=version, applied_ts=time.time()))
            current = version
        return int(current)
