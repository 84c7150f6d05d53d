"""Engine creation, read and write transactions, and schema migration (Alembic,
``store/migrations``) for SQLite (default) and PostgreSQL.

On SQLite a writing transaction (``write(engine)``, ``engine.begin()``) takes the
write lock up front (BEGIN IMMEDIATE), so two writers queue instead of
deadlocking on an upgrade. A reading one (``read(engine)``) begins DEFERRED: WAL
gives it a snapshot, so it never waits for a writer, even one that holds the
lock for a long recompute. ``/healthz``, the report and the CLI listings read.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url

from heavylegs.store.migrations import HEAD, VERSION_TABLE, Migration, SchemaError, metadata, number

__all__ = ["CURRENT_VERSION", "Migration", "is_sqlite", "make_engine", "migrate", "migrating", "read", "upgrade", "write"]

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The schema revision this heavylegs brings every store to, as a number (what migrate() returns).
CURRENT_VERSION = number(HEAD)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
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


def _stored_revision(engine: Engine) -> str | None:
    """The store's schema revision, looked at with a read: a CLI listing must not queue
    behind a writer at start-up just to find that there is nothing to migrate."""
    with read(engine) as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """The transaction a migration runs in: it holds the store's write lock, so processes
    starting together migrate once (the later ones wait, then find the store at ``HEAD``).

    On SQLite, foreign keys are off meanwhile (switched before BEGIN: inside a transaction
    the pragma does nothing): a revision in batch mode copies a table and drops the old one,
    and with foreign keys on, that DROP would delete the rows that refer to it. Before the
    commit ``foreign_key_check`` must find nothing new, or it all rolls back.
    """
    with engine.connect() as conn:
        sqlite = is_sqlite(engine)
        if sqlite:
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
                before = set(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) if sqlite else set()
                yield conn
                if sqlite and (broken := set(conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()) - before):
                    raise SchemaError(f"the migration left rows whose foreign key points nowhere: {sorted(broken)[:5]}")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _create_new(conn: Connection) -> Migration | None:
    """An empty store built from the metadata and stamped ``HEAD`` as Alembic would stamp it
    (its version table, its primary key's name), without importing Alembic; None when the store
    is not empty."""
    have = inspect(conn)
    if have.has_table(VERSION_TABLE) or have.has_table("schema_version") or have.has_table("activities"):
        return None
    metadata.create_all(conn)
    version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"))
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD))
    return Migration(before=None, after=HEAD, applied=(), created=True)


def upgrade(engine: Engine) -> Migration:
    """Bring the store to the newest schema (``heavylegs migrate``); reports what it did."""
    with migrating(engine) as conn:
        created = _create_new(conn)
        if created is not None:
            return created
        # Alembic takes 0.1-0.2 s to import; only an existing store that needs work pays for it.
        from heavylegs.store.migrations import runner  # noqa: PLC0415

        return runner.upgrade(conn)


def migrate(engine: Engine) -> int:
    """Bring the store to the newest schema unless it is there already (every command's
    start); returns the schema revision as a number (``CURRENT_VERSION``)."""
    if _stored_revision(engine) != HEAD:
        done = upgrade(engine)
        if done.changed:
            log.info("database schema: %s -> %s (applied %s)", done.before or "empty", done.after, ", ".join(done.applied) or "none")
    return CURRENT_VERSION
