"""Bring a store to ``HEAD`` with Alembic, on a connection whose transaction the caller holds.

``db.upgrade`` opens that transaction with the store's write lock (BEGIN
IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so two processes that
start at once queue, and the second finds the store already at ``HEAD``.
Alembic sees a transaction already open and adds none of its own: the whole
upgrade commits or rolls back as one.

Three kinds of store arrive here:
- an empty one: ``create_all`` from the metadata, stamped ``HEAD``;
- one made before Alembic (heavylegs 0.1.0, and this release's interim
  ``schema_version`` 2): stamped ``BASELINE``, then upgraded; the revisions
  after the baseline check what is there, so an interim store upgrades too;
- one with a revision: upgraded from it.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, func, inspect, select

from heavylegs.store.migrations import BASELINE, HEAD, Migration, SchemaError, metadata
from heavylegs.store.tables import schema_version

HERE = Path(__file__).resolve().parent


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here so that no alembic.ini has to ship or be found."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    # r0003_add_a_column.py: a file name that is a module name (mypy and ruff read these files).
    cfg.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    if connection is not None:
        cfg.attributes["connection"] = connection  # env.py runs on it
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _legacy_version(conn: Connection) -> int | None:
    """The version a store made before Alembic carries (0 when its schema_version table is empty)."""
    if not inspect(conn).has_table(schema_version.name):
        return None
    found = conn.execute(select(func.max(schema_version.c.version))).scalar()
    return int(found) if found is not None else 0


def upgrade(conn: Connection) -> Migration:
    """Bring the store behind ``conn`` to ``HEAD`` inside the caller's transaction."""
    cfg = config(conn)
    script = ScriptDirectory.from_config(cfg)
    before = current_revision(conn)
    if before is None:
        legacy = _legacy_version(conn)
        if legacy is None and not inspect(conn).has_table("activities"):
            metadata.create_all(conn)
            command.stamp(cfg, HEAD)
            return Migration(before=None, after=HEAD, applied=(), created=True)
        command.stamp(cfg, BASELINE)  # the schema of 0.1.0: what every store without a revision has
        before = BASELINE
    else:
        legacy = None
    try:
        pending = [s.revision for s in script.iterate_revisions(HEAD, before)]
    except (RevisionError, CommandError) as exc:  # a revision we have no file for
        raise SchemaError(
            f"the store is at schema revision {before}, which this heavylegs does not know "
            f"(its newest is {HEAD}): it was upgraded by a newer heavylegs; run that version"
        ) from exc
    if pending:
        command.upgrade(cfg, HEAD)
    if (after := current_revision(conn)) != HEAD:  # a revision file whose down_revision chain is broken
        raise SchemaError(f"the upgrade ended at revision {after}, not {HEAD}")
    return Migration(before=before, after=HEAD, applied=tuple(reversed(pending)), legacy_version=legacy)
