"""``migrate``: bring the database to this version's schema (every command also does it at start)."""
from __future__ import annotations

import json

import click

from heavylegs.cli.app import App, pass_app
from heavylegs.store.migrations import Migration, SchemaError


def describe(done: Migration) -> str:
    """One line for the user: where the store was and where it is now."""
    if done.created:
        return f"created a new database at schema revision {done.after}"
    before = f"schema revision {done.before}"
    if done.legacy_version is not None:
        before = f"a database made before migrations (schema_version {done.legacy_version}, revision {done.before})"
    if not done.applied:
        return f"{before}: already at the newest revision, nothing to do"
    return f"upgraded {before} to revision {done.after} (applied {', '.join(done.applied)})"


@click.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the revisions before and after as JSON.")
@pass_app
def migrate_cmd(app: App, as_json: bool) -> None:
    """Upgrade the database to this version's schema (also done at every start).

    A store made by an older heavylegs is upgraded in one transaction, keeping
    every row; an empty database is created. Safe to run again, and while the
    service runs (the upgrade takes the database's write lock).
    """
    from heavylegs.service.private import prepare_store
    from heavylegs.store.db import make_engine, upgrade

    # Not app.engine: that migrates on first use, and this command reports what it found.
    prepare_store(app.settings.data_dir, app.settings.db_url)
    engine = make_engine(app.settings.db_url)
    try:
        done = upgrade(engine)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(json.dumps(done.as_dict(), indent=2) if as_json else describe(done))


def register(main: click.Group) -> None:
    main.add_command(migrate_cmd)
