"""Schema migrations: a store made by heavylegs 0.1.0 upgrades to this version's schema, rows kept.

The previous release's schema is a fixture (tests/fixtures/schema_v0_1*.sql: the
DDL its ``create_all`` issued, for SQLite and PostgreSQL), since a clone has no
history to take it from. Revision 0001 must be that schema exactly, and the
newest revision must be exactly the tables in the code: a table or column added
without a revision fails ``test_the_newest_revision_is_the_schema_in_the_code``.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, insert, inspect, select, text

from heavylegs.cli import main
from heavylegs.sources.tables import source_credentials
from heavylegs.store.db import CURRENT_VERSION, make_engine, migrate, migrating, upgrade
from heavylegs.store.migrations import BASELINE, HEAD, Migration, SchemaError, metadata, runner
from heavylegs.store.tables import activities

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREVIOUS_TABLES = 21  # tables of heavylegs 0.1.0


def _ddl(engine: Engine) -> list[str]:
    name = "schema_v0_1.sql" if engine.dialect.name == "sqlite" else "schema_v0_1_postgresql.sql"
    script = (FIXTURES / name).read_text()
    lines = [ln for ln in script.splitlines() if not ln.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def _previous_release_store(db_url: str) -> Engine:
    """A store as heavylegs 0.1.0 left it: its tables, schema_version 1, and a few rows."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        for statement in _ddl(engine):
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO athletes (name, created_ts) VALUES ('me', 1.0)"))
        conn.execute(text(
            "INSERT INTO sources (athlete_id, name, kind, config_json, enabled, status, created_ts)"
            " SELECT id, 'watch', 'folder', '{}', true, 'ok', 2.0 FROM athletes"
        ))
        conn.execute(text(
            "INSERT INTO activities (athlete_id, start_ts, local_date, sport, format, elapsed_s, distance_m,"
            " has_gps, n_samples, laps_json, revision, created_ts, updated_ts)"
            " SELECT id, 1700000000.0, '2023-11-14', 'running', 'fit', 3600.0, 10000.0, true, 3600, '[]', 1, 3.0, 3.0"
            " FROM athletes"
        ))
        conn.execute(text(
            "INSERT INTO activity_metrics (activity_id, athlete_id, revision, local_date, load, load_method,"
            " qualifies, computed_ts) SELECT id, athlete_id, 1, '2023-11-14', 87.5, 'trimp', true, 4.0 FROM activities"
        ))
        conn.execute(text(
            "INSERT INTO daily_metrics (athlete_id, date, load, acute, chronic, acwr, ctl, atl, tsb, run_streak)"
            " SELECT id, '2023-11-14', 87.5, 12.5, 2.9, 4.3, 2.1, 12.0, -9.9, 1 FROM athletes"
        ))
        conn.execute(text(
            "INSERT INTO alerts (id, athlete_id, athlete, rule, severity, episode_key, date, metrics_json, message,"
            " advice_json, state, created_ts) SELECT 'a1', id, 'me', 'acwr', 'warning', 'acwr:2023-11-14',"
            " '2023-11-14', '{\"acwr\": 4.3}', 'Load jumped', '[]', 'new', 5.0 FROM athletes"
        ))
    return engine


def _after_baseline() -> list[str]:
    revisions = [s.revision for s in runner.script_directory().iterate_revisions(HEAD, BASELINE)]
    assert revisions[-1] == "0002"  # time_known and the new sources' tables
    return list(reversed(revisions))


def _cli(db_url: str, tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--db", db_url, *args])


def _differences(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata))


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything the inspector sees of every table but Alembic's own."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in insp.get_columns(table)],
            "pk": insp.get_pk_constraint(table),
            "fks": sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                          for f in insp.get_foreign_keys(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
        }
    return out


def test_revision_0001_is_the_schema_of_the_previous_release(db_url: str, tmp_path: Path) -> None:
    old = _previous_release_store(db_url)
    expected = _schema(old)
    with old.begin() as conn:  # the same database again, empty, built by revision 0001 alone
        for table in reversed(metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
    with old.begin() as conn:
        command.upgrade(runner.config(conn), BASELINE)
    assert len(expected) == PREVIOUS_TABLES
    assert _schema(old) == expected
    old.dispose()


def test_migrate_upgrades_a_store_of_the_previous_release_keeping_every_row(db_url: str, tmp_path: Path) -> None:
    old = _previous_release_store(db_url)
    assert "time_known" not in {c["name"] for c in inspect(old).get_columns("activities")}
    old.dispose()

    result = _cli(db_url, tmp_path, "migrate", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "from": BASELINE, "to": HEAD, "head": HEAD, "applied": _after_baseline(),
        "created": False, "legacy_version": 1, "changed": True,
    }

    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert _differences(conn) == []  # exactly the schema in the code
        act = conn.execute(select(activities)).mappings().one()
        assert (act["distance_m"], act["elapsed_s"], act["time_known"]) == (10000.0, 3600.0, True)
        assert conn.execute(text("SELECT load FROM activity_metrics")).scalar() == 87.5
        assert conn.execute(text("SELECT acwr, run_streak FROM daily_metrics")).one() == (4.3, 1)
        assert conn.execute(text("SELECT message, state FROM alerts")).one() == ("Load jumped", "new")
        assert conn.execute(text("SELECT version FROM schema_version")).scalar() == 1  # left as 0.1.0 wrote it
    with engine.begin() as conn:  # a table revision 0002 added takes rows, its foreign key holds
        source_id = conn.execute(text("SELECT id FROM sources")).scalar()
        conn.execute(insert(source_credentials).values(source_id=source_id, secret_enc=b"x", updated_ts=6.0))
        assert conn.execute(select(source_credentials.c.token_enc)).scalar() is None
    engine.dispose()

    listed = _cli(db_url, tmp_path, "activities", "--json")
    assert listed.exit_code == 0, listed.output
    assert [a["distance_m"] for a in json.loads(listed.output)] == [10000.0]
    again = _cli(db_url, tmp_path, "migrate")
    assert again.exit_code == 0 and f"schema revision {HEAD}: already at the newest revision" in again.output


def test_migrate_text_names_the_revisions(db_url: str, tmp_path: Path) -> None:
    _previous_release_store(db_url).dispose()
    result = _cli(db_url, tmp_path, "migrate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"upgraded a database made before migrations (schema_version 1, revision {BASELINE})")
    assert f"to revision {HEAD}" in result.output


def test_a_store_of_the_interim_schema_version_2_upgrades(db_url: str) -> None:
    """This release's development stores: time_known added by hand, some new tables by create_all."""
    engine = _previous_release_store(db_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE activities ADD COLUMN time_known BOOLEAN NOT NULL DEFAULT TRUE"))
        conn.execute(text("INSERT INTO schema_version (version, applied_ts) VALUES (2, 7.0)"))
        metadata.tables["source_credentials"].create(conn)
        metadata.tables["garmin_activities"].create(conn)
        conn.execute(text("UPDATE activities SET time_known = false"))
    done = upgrade(engine)
    assert (done.before, done.after, list(done.applied), done.legacy_version) == (BASELINE, HEAD, _after_baseline(), 2)
    with engine.connect() as conn:
        assert _differences(conn) == []
        assert conn.execute(select(activities.c.time_known)).scalar() is False  # the interim value, kept
    assert migrate(engine) == CURRENT_VERSION
    engine.dispose()


def test_an_empty_database_is_created_at_the_newest_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    done = upgrade(engine)
    assert (done.before, done.after, done.created, done.applied) == (None, HEAD, True, ())
    with engine.connect() as conn:
        assert _differences(conn) == []
        assert runner.current_revision(conn) == HEAD
        # Stamped without importing Alembic (0.1-0.2 s of a small import): the table must be Alembic's own.
        have = inspect(conn)
        pk = have.get_pk_constraint("alembic_version")
        assert (pk["name"], pk["constrained_columns"]) == ("alembic_version_pkc", ["version_num"])
        (col,) = have.get_columns("alembic_version")
        assert (col["name"], col["nullable"], getattr(col["type"], "length", None)) == ("version_num", False, 32)
    assert upgrade(engine) == Migration(before=HEAD, after=HEAD, applied=())
    engine.dispose()


def test_the_newest_revision_is_the_schema_in_the_code(db_url: str) -> None:
    """Every revision from nothing: a table or column without a revision shows up here."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(runner.config(conn), "head")
    with engine.connect() as conn:
        assert _differences(conn) == [], "the tables changed without a migration (docs/development.md#database-schema)"
    assert runner.script_directory().get_current_head() == HEAD  # the constant the start-up check uses
    assert CURRENT_VERSION == int(HEAD)
    engine.dispose()


def test_starts_at_the_same_time_migrate_once(db_url: str) -> None:
    _previous_release_store(db_url).dispose()
    engines = [make_engine(db_url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    results: list[Migration] = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            results.append(upgrade(engine))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.legacy_version is not None for r in results) == [False, False, True]
    assert [r.applied for r in results if not r.applied] == [(), ()]  # the later ones found it done
    for engine in engines:
        engine.dispose()


def test_a_store_from_a_newer_heavylegs_is_refused_with_its_revision(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaError, match="0999"):
        migrate(engine)
    engine.dispose()
    result = _cli(db_url, tmp_path, "migrate")
    assert result.exit_code == 1 and "0999" in result.output and "newer heavylegs" in result.output
    listed = _cli(db_url, tmp_path, "activities")  # every command says so, not a traceback
    assert listed.exit_code == 1 and "newer heavylegs" in listed.output


def test_a_table_copied_in_batch_mode_keeps_the_rows_that_refer_to_it(sqlite_url: str) -> None:
    """SQLite changes a column by copying the table and dropping the old one: with foreign keys
    on, that DROP would delete every row referring to it (the metrics, an activity's sources)."""
    engine = _previous_release_store(sqlite_url)
    upgrade(engine)
    with migrating(engine) as conn:
        with Operations(MigrationContext.configure(conn)).batch_alter_table("activities", recreate="always") as batch:
            batch.alter_column("name", existing_type=sa.String(255), type_=sa.String(300))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT load FROM activity_metrics")).scalar() == 87.5
        assert conn.execute(text("SELECT activity_id FROM activity_metrics")).scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again for the pooled connection
    engine.dispose()


def test_a_migration_that_leaves_a_dangling_row_rolls_back(sqlite_url: str) -> None:
    engine = _previous_release_store(sqlite_url)
    upgrade(engine)
    with pytest.raises(SchemaError, match="foreign key"):
        with migrating(engine) as conn:
            conn.execute(text("DELETE FROM activities"))  # foreign keys are off: nothing cascades
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activities")).scalar() == 1  # rolled back
    engine.dispose()


def test_every_module_with_tables_is_part_of_the_schema() -> None:
    """A new tables module that store/migrations does not import would be invisible to
    create_all and to the check above; importing the package alone must load them all."""
    root = Path(__file__).resolve().parents[1]
    defining = sorted(
        ".".join(p.relative_to(root).with_suffix("").parts)
        for p in (root / "heavylegs").rglob("*.py")
        if re.search(r"^\w+ = Table\(", p.read_text(), re.MULTILINE)
    )
    code = "import json, sys; import heavylegs.store.migrations; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout))
    assert "heavylegs.sources.tables" in defining
    assert [m for m in defining if m not in loaded] == []
