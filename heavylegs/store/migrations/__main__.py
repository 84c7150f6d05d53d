"""``python -m heavylegs.store.migrations new "add x to y"``: write the next revision (developers).

Alembic brings a scratch SQLite store through every revision, compares it with
the tables in the code and writes the difference to ``versions/rNNNN_<slug>.py``
in batch mode. Read it and fix what autogenerate cannot know (a rename is a drop
and an add to it; a new NOT NULL column needs a ``server_default`` for the rows
already there; data to move), then set ``HEAD`` in ``__init__.py``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from heavylegs.store.migrations import HEAD, number
from heavylegs.store.migrations.runner import config, script_directory


def new_revision(message: str) -> Path:
    head = script_directory().get_current_head()
    if head != HEAD:
        raise SystemExit(f"HEAD in heavylegs/store/migrations/__init__.py is {HEAD}, the newest revision is {head}")
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        with engine.begin() as conn:
            command.upgrade(config(conn), "head")
            rev_id = f"{number(HEAD) + 1:04d}"
            command.revision(config(conn), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    return next((Path(__file__).parent / "versions").glob(f"r{rev_id}_*.py"))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m heavylegs.store.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write the next revision from the difference between the tables and HEAD")
    new.add_argument("message", help='what the revision does, e.g. "add alerts.snoozed_until"')
    args = parser.parse_args(argv)
    path = new_revision(args.message)
    print(f"wrote {path}: review it, then set HEAD = {path.name[1:5]!r} in heavylegs/store/migrations/__init__.py")


if __name__ == "__main__":
    main(sys.argv[1:])
