"""Issue 14 in the store: time_known, set-start, the analysis leaving clockless runs out, migration, rebuild."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, insert, inspect, select, text, update

from heavylegs.activity_view import list_activities
from heavylegs.importer import import_paths
from heavylegs.metrics.read import daily_rows, run_rows
from heavylegs.metrics.recompute import recompute_dirty
from heavylegs.service.envs import analysis_env, import_env
from heavylegs.settings import Settings
from heavylegs.store.activities import find_athlete
from heavylegs.store.db import CURRENT_VERSION, make_engine, migrate
from heavylegs.store.start import parse_start, set_start
from heavylegs.store.tables import activities, schema_version
from tests.helpers import run_cli
from tests.plausibility_files import Session, fit_file, run_records
from tests.synth import gpx_run

UTC = timezone.utc
CLOCKLESS_T0 = 16441241  # FIT system seconds: power-on time, about 190 days after 1989-12-31


def _clockless() -> bytes:
    return fit_file(run_records(CLOCKLESS_T0, 2400, step=2, speed=3.2, hr=150), [Session(CLOCKLESS_T0, 2400.0, 2400.0, 7680.0)])


def _files(tmp_path: Path) -> list[Path]:
    out = []
    for k in range(3):
        p = tmp_path / f"run{k}.gpx"
        p.write_bytes(gpx_run(datetime(2024, 3, 4 + 2 * k, 7, 0, tzinfo=UTC), duration_s=2400, speed_mps=3.0))
        out.append(p)
    p = tmp_path / "fr70.fit"
    p.write_bytes(_clockless())
    out.append(p)
    return out


def test_clockless_run_is_kept_out_of_the_analysis_until_its_start_is_set(tmp_path: Path, engine: Engine, settings: Settings) -> None:
    report = import_paths(engine, import_env(settings), _files(tmp_path), athlete=settings.default_athlete, workers=1)
    assert report.imported == 4
    assert any("set-start" in w["reason"] for w in report.warnings)
    recompute_dirty(engine, analysis_env(settings))
    with engine.connect() as conn:
        aid = find_athlete(conn, settings.default_athlete)
        assert aid is not None
        listed = list_activities(conn, aid)
        unknown = [a for a in listed if not a["time_known"]]
        assert len(unknown) == 1 and unknown[0]["start_utc"].startswith("1990")
        days = daily_rows(conn, aid)
        runs = run_rows(conn, aid)
    assert days[0]["date"] == date(2024, 3, 4)  # never before the first activity with a known time
    assert unknown[0]["id"] not in {r["id"] for r in runs} and len(runs) == 3

    start, offset = parse_start("2024-03-05T18:30:00+01:00", settings.athlete_zone(settings.default_athlete))
    with engine.begin() as conn:
        done = set_start(conn, unknown[0]["id"], start, offset)
    assert done.start_utc == datetime(2024, 3, 5, 17, 30, tzinfo=UTC)
    recompute_dirty(engine, analysis_env(settings))
    with engine.connect() as conn:
        row = next(a for a in list_activities(conn, aid) if a["id"] == unknown[0]["id"])
        runs = run_rows(conn, aid)
        day = [d for d in daily_rows(conn, aid) if d["date"] == date(2024, 3, 5)]
    assert row["time_known"] and row["start_utc"] == "2024-03-05T17:30:00Z"
    assert row["local_date"] == "2024-03-05" and row["utc_offset_s"] == 3600
    assert row["id"] in {r["id"] for r in runs}
    assert day and day[0]["load"] and day[0]["load"] > 0  # its load now counts on its day


def test_migration_adds_time_known_to_a_store_made_without_it(db_url: str) -> None:
    eng = make_engine(db_url)
    migrate(eng)
    with eng.begin() as conn:  # what an older heavylegs left: schema 1, no column
        conn.execute(text("ALTER TABLE activities DROP COLUMN time_known"))
        conn.execute(text("DROP TABLE alembic_version"))  # older stores have no Alembic revision
        conn.execute(delete(schema_version))
        conn.execute(insert(schema_version).values(version=1, applied_ts=0.0))
        conn.execute(text(
            "INSERT INTO athletes (name, created_ts) VALUES ('old', 0)"
        ))
        conn.execute(text(
            "INSERT INTO activities (athlete_id, start_ts, local_date, sport, format, elapsed_s, has_gps, n_samples, laps_json, revision, created_ts, updated_ts)"
            " SELECT id, 1.7e9, '2023-11-14', 'running', 'gpx', 60.0, false, 0, '[]', 1, 0, 0 FROM athletes"
        ))
    assert "time_known" not in {c["name"] for c in inspect(eng).get_columns("activities")}
    assert migrate(eng) == CURRENT_VERSION
    assert "time_known" in {c["name"] for c in inspect(eng).get_columns("activities")}
    with eng.connect() as conn:
        assert conn.execute(select(activities.c.time_known)).scalars().all() == [True]
    assert migrate(eng) == CURRENT_VERSION  # idempotent
    eng.dispose()


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HEAVYLEGS_DATA_DIR": str(tmp_path / "data")}


def test_cli_import_json_lists_activities_and_set_start(tmp_path: Path) -> None:
    env = _env(tmp_path)
    run = tmp_path / "run.gpx"
    run.write_bytes(gpx_run(datetime(2024, 3, 4, 7, 0, tzinfo=UTC), duration_s=600))
    res = run_cli("import", str(run), "--json", env=env)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["warnings"] == [] and out["skipped"] == [] and out["failed"] == []  # all four always there

    fr70 = tmp_path / "fr70.fit"
    fr70.write_bytes(_clockless())
    assert run_cli("import", str(fr70), "--json", env=env).returncode == 0
    listed = json.loads(run_cli("activities", "--json", env=env).stdout)
    unknown = [a for a in listed if a["time_known"] is False]
    assert len(unknown) == 1
    bad = run_cli("set-start", str(unknown[0]["id"]), "yesterday", env=env)
    assert bad.returncode == 2 and "START" in bad.stderr  # a usage error naming the argument
    assert run_cli("set-start", "99999", "2024-03-06T06:00:00", env=env).returncode == 1  # no such activity
    res = run_cli("set-start", str(unknown[0]["id"]), "2024-03-06T06:00:00+02:00", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["start_utc"] == "2024-03-06T04:00:00Z"
    listed = json.loads(run_cli("activities", "--json", env=env).stdout)
    assert all(a["time_known"] for a in listed)
    load = json.loads(run_cli("load", "--json", env=env).stdout)
    assert load[0]["date"] == "2024-03-04"


def test_rebuild_applies_the_rules_to_an_older_store_and_keeps_a_user_start(tmp_path: Path) -> None:
    env = _env(tmp_path)
    files = _files(tmp_path)
    assert run_cli("import", *map(str, files[2:]), "--json", env=env).returncode == 0
    db = tmp_path / "data" / "heavylegs.db"
    eng = create_engine(f"sqlite:///{db}")
    with eng.begin() as conn:
        clockless = conn.execute(select(activities.c.id).where(activities.c.time_known.is_(False))).scalar_one()
        run = conn.execute(select(activities.c.id).where(activities.c.time_known.is_(True))).scalar_one()
        # An older version: every time believed, a sentinel max HR, a timer longer than elapsed.
        conn.execute(update(activities).values(time_known=True))
        conn.execute(update(activities).where(activities.c.id == run).values(max_hr_bpm=255.0, timer_s=99_999.0))
    eng.dispose()
    res = run_cli("rebuild", "--json", env=env)
    assert res.returncode == 0, res.stderr
    listed = {a["id"]: a for a in json.loads(run_cli("activities", "--json", env=env).stdout)}
    assert listed[clockless]["time_known"] is False
    assert listed[run]["max_hr_bpm"] == 150.0 and listed[run]["timer_s"] is None

    assert run_cli("set-start", str(clockless), "2024-03-08T07:00:00+00:00", env=env).returncode == 0
    assert run_cli("rebuild", env=env).returncode == 0
    again = {a["id"]: a for a in json.loads(run_cli("activities", "--json", env=env).stdout)}
    assert again[clockless]["time_known"] and again[clockless]["start_utc"] == "2024-03-08T07:00:00Z"
    assert again[clockless]["elapsed_s"] == 2400.0


def test_rebuild_removes_what_is_no_activity_today(tmp_path: Path, sqlite_url: str) -> None:
    from heavylegs.rebuild import rebuild_all
    from heavylegs.settings import load_settings
    from heavylegs.store.activities import SourceRef, get_or_create_athlete, store_activity
    from heavylegs.store.raw import store_raw
    from ingest.model import Activity

    settings = load_settings(data_dir=tmp_path / "data", db=sqlite_url, environ={})
    eng = make_engine(sqlite_url)
    migrate(eng)
    junk = fit_file([run_records(2, 0)[0]])
    with eng.begin() as conn:  # what an older version stored for 34 bytes of junk
        aid = get_or_create_athlete(conn, "me")
        store_raw(conn, "ab" * 32, "fit", junk)
        old = Activity(start_utc=datetime(1989, 12, 31, 0, 0, 2, tzinfo=UTC), sport="other", format="fit", elapsed_s=0.0)
        store_activity(conn, aid, old, SourceRef("file", "junk.fit", "ab" * 32, "fit"))
    summary = rebuild_all(eng, settings.athletes)
    assert [r["reason"] for r in summary["removed"]] == ["no plausible samples (no two timed samples with a value, no dated totals)"]
    with eng.connect() as conn:
        assert conn.execute(select(activities.c.id)).first() is None
    eng.dispose()
