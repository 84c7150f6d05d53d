"""The store's schema and its history, as Alembic migrations.

This package is Alembic's script directory: ``env.py`` and one revision per
schema change in ``versions/``. Revision 0001 is the schema of heavylegs 0.1.0
exactly (the last release without Alembic, which marked its stores with a row
in ``schema_version``); each later revision is what changed after it.

Importing this package also imports every module that defines tables, so that
``metadata`` holds the whole schema: ``create_all`` builds a new store from it,
and tests/test_migrations.py checks that the newest revision produces exactly
it, so a table or column added without a revision fails a test.

Nothing here imports Alembic (0.1 s): every command compares the store's
revision with ``HEAD`` at start, and ``runner`` loads Alembic only when there
is something to do.
"""
from __future__ import annotations

from dataclasses import dataclass

# Each area keeps its tables next to its code; all share store.tables.metadata.
from heavylegs.alerts import tables as alert_tables  # noqa: F401
from heavylegs.metrics import tables as metric_tables  # noqa: F401
from heavylegs.sources import tables as source_tables  # noqa: F401
from heavylegs.store import tables as store_tables  # noqa: F401
from heavylegs.store.tables import metadata
from heavylegs.strava import tables as strava_tables  # noqa: F401

__all__ = ["BASELINE", "HEAD", "VERSION_TABLE", "Migration", "SchemaError", "metadata", "number"]

# The newest revision in versions/. Kept as a constant so the start-up check needs no Alembic;
# tests/test_migrations.py checks it against Alembic's head.
HEAD = "0002"
# The schema of heavylegs 0.1.0: where a store made before Alembic is stamped before upgrading.
BASELINE = "0001"
# Alembic's table holding the store's revision (one row).
VERSION_TABLE = "alembic_version"


def number(revision: str) -> int:
    """The revision as a number (revisions are numbered 0001, 0002...)."""
    return int(revision)


class SchemaError(RuntimeError):
    """The store cannot be brought to this version's schema (made by a newer heavylegs)."""


@dataclass(frozen=True)
class Migration:
    """What one upgrade did to a store."""

    before: str | None  # the store's revision before (None: a new, empty store)
    after: str  # its revision now (HEAD)
    applied: tuple[str, ...]  # the revisions run, oldest first
    created: bool = False  # an empty store, created at HEAD
    # A store made before Alembic: the schema_version it carried (stamped at BASELINE, then upgraded).
    legacy_version: int | None = None

    @property
    def changed(self) -> bool:
        return self.created or bool(self.applied) or self.legacy_version is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.before,
            "to": self.after,
            "head": HEAD,
            "applied": list(self.applied),
            "created": self.created,
            "legacy_version": self.legacy_version,
            "changed": self.changed,
        }
