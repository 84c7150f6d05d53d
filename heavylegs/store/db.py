"""Engine creation and schema migration for SQLite (default) and PostgreSQL."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text
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


def _sqlite_begin(conn: Connection) -> None:
    # Take the write lock up front so two writers never deadlock on upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, create_dirs: bool = True) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and create_dirs:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# Numbered upgrades for databases created by an older heavylegs. Version 1 is
# the first schema; create_all adds new tables, these change existing ones.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
CURRENT_VERSION = 1


def migrate(engine: Engine) -> int:
    """Create missing tables and apply pending migrations; returns the schema version."""
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
