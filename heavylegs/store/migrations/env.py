"""Alembic's environment: runs the revisions on the connection heavylegs passes in.

``runner.config(connection)`` puts the connection (inside a transaction that
holds the store's write lock) in ``config.attributes``; Alembic finds the
transaction open and runs every revision inside it. Without a connection (a
developer's ``python -m heavylegs.store.migrations``), the configured URL is used.
Batch mode lets a revision change a column on SQLite, which cannot ALTER it
in place (Alembic copies the table).
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from heavylegs.store.migrations import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        # The revisions after the baseline look at the store (an interim store may have a table already).
        raise SystemExit("heavylegs migrations need a database: offline (--sql) mode is not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


main()
