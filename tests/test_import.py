"""Import: every file accounted for, each run stored once, hostile input refused."""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from heavylegs.importer import import_paths
from heavylegs.service.envs import import_env
from heavylegs.settings import Settings
from heavylegs.store.tables import activities, activity_sources, raw_files
from tests import hostile
from tests.helpers import FIXTURES
from tests.synth import day, gpx_run

SWEAT = FIXTURES / "sweatpy"
FITPARSE = FIXTURES / "python-fitparse"


def count(engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def run(engine, settings: Settings, *paths: Path | str):  # type: ignore[no-untyped-def]
    return import_paths(engine, import_env(settings), list(paths), athlete="me", workers=1)


def test_fit_and_its_gpx_exports_are_one_activity(engine, settings: Settings) -> None:
    rep = run(engine, settings, SWEAT / "4801048867.fit", SWEAT / "4801048867_strava.gpx", SWEAT / "activity_4801048867.gpx")
    assert rep.failed == [] and rep.imported == 1 and rep.duplicates == 2
    assert count(engine, activities) == 1
    with engine.connect() as conn:
        row = conn.execute(select(activities)).one()
        refs = {r.ref for r in conn.execute(select(activity_sources))}
    assert row.format == "fit"  # the richest copy wins
    assert len(refs) == 3


def test_gpx_first_then_fit_upgrades_in_place(engine, settings: Settings) -> None:
    first = run(engine, settings, SWEAT / "activity_4801048867.gpx")
    (aid,) = first.activity_ids
    second = run(engine, settings, SWEAT / "4801048867.fit")
    assert second.duplicates == 1 and second.activity_ids == {aid}
    with engine.connect() as conn:
        row = conn.execute(select(activities)).one()
    assert row.id == aid and row.format == "fit" and row.revision == 2


def test_gz_copy_has_the_same_sha(engine, settings: Settings, tmp_path: Path) -> None:
    gz = hostile.write(tmp_path / "copy.fit.gz", gzip.compress((FITPARSE / "activity-small-fenix2-run.fit").read_bytes()))
    rep = run(engine, settings, FITPARSE / "activity-small-fenix2-run.fit", gz)
    assert rep.imported == 1 and rep.duplicates == 1
    shas = {o.sha256 for o in rep.outcomes}
    assert len(shas) == 1
    assert count(engine, raw_files) == 1


def test_reimport_is_all_duplicates(engine, settings: Settings) -> None:
    files = [FITPARSE / "activity-small-fenix2-run.fit", FITPARSE / "2013-02-06-12-11-14.fit", SWEAT / "3173437224.tcx"]
    first = run(engine, settings, *files)
    assert first.imported == 3, first.to_json()
    again = run(engine, settings, *files)
    assert again.imported == 0 and again.duplicates == 3
    assert count(engine, activities) == 3


def test_non_activity_and_corrupt_files_are_reported(engine, settings: Settings, tmp_path: Path) -> None:
    empty = hostile.write(tmp_path / "empty.fit", b"")
    junk = hostile.write(tmp_path / "junk.gpx", b"<gpx><trk><trkseg><trkpt lat='1' lon=")
    rep = run(engine, settings, FITPARSE / "Settings.fit", FITPARSE / "activity-filecrc.fit", empty, junk)
    by_path = {o.path: o for o in rep.outcomes}
    assert by_path[str(FITPARSE / "Settings.fit")].status == "skipped"
    assert "not an activity" in (by_path[str(FITPARSE / "Settings.fit")].reason or "")
    assert by_path[str(empty)].status == "failed" and "empty" in (by_path[str(empty)].reason or "")
    assert by_path[str(junk)].status == "failed"
    assert by_path[str(FITPARSE / "activity-filecrc.fit")].status in {"failed", "imported"}
    assert all(o.reason for o in rep.outcomes if o.status in {"failed", "skipped"})


def test_hostile_archives_are_refused_and_the_rest_imports(engine, settings: Settings, tmp_path: Path) -> None:
    good = (FITPARSE / "activity-small-fenix2-run.fit").read_bytes()
    archive = hostile.write(
        tmp_path / "mixed.zip",
        hostile.zip_bytes(
            {
                "../../evil.fit": good,
                "/abs/evil2.fit": good,
                "__MACOSX/._run.fit": b"\x00\x05\x16\x07junk",
                "ok/run.fit": good,
                "bomb.fit.gz": hostile.gzip_bomb(),
                "notes.txt": b"ignored",
            }
        ),
    )
    bomb = hostile.write(tmp_path / "bomb.zip", hostile.zip_bomb())
    deep = hostile.write(tmp_path / "deep.zip", hostile.nested_zip(6, {"run.fit": good}))
    xml_bomb = hostile.write(tmp_path / "laughs.gpx", hostile.BILLION_LAUGHS)
    rep = run(engine, settings, archive, bomb, deep, xml_bomb)
    by_path = {o.path: o for o in rep.outcomes}
    assert by_path[f"{archive}!../../evil.fit"].status == "failed"
    assert "zip-slip" in (by_path[f"{archive}!../../evil.fit"].reason or "")
    assert by_path[f"{archive}!/abs/evil2.fit"].status == "failed"
    assert by_path[f"{archive}!__MACOSX/._run.fit"].status == "skipped"
    assert by_path[f"{archive}!ok/run.fit"].status == "imported"
    assert by_path[f"{archive}!bomb.fit.gz"].status == "failed"
    assert any(o.path.startswith(str(bomb)) and o.status == "failed" and "bomb" in (o.reason or "") for o in rep.outcomes)
    assert any(o.path.startswith(str(deep)) and "nested" in (o.reason or "") for o in rep.outcomes)
    assert by_path[str(xml_bomb)].status == "failed" and "entit" in (by_path[str(xml_bomb)].reason or "").lower()
    assert not (tmp_path.parent / "evil.fit").exists()
    assert count(engine, activities) == 1


def test_size_limit(engine, settings: Settings, tmp_path: Path) -> None:
    small = settings.with_overrides({"import.max_file_bytes": 1000})
    rep = run(engine, small, FITPARSE / "activity-small-fenix2-run.fit")
    assert rep.failed and "limit" in rep.failed[0]["reason"]


def _strava_export(tmp_path: Path) -> Path:
    csv = (
        "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,Filename\n"
        '4801048867,"Jul 28, 2020, 4:18:38 PM",Evening Ride by the river,Ride,,5158,36.32,activities/4801048867.fit.gz\n'
        '1001,"Jan 2, 2024, 7:00:00 AM",Tempo Tuesday,Run,,1800,5.4,activities/1001.gpx\n'
    )
    return hostile.write(
        tmp_path / "export_123.zip",
        hostile.zip_bytes(
            {
                "activities.csv": csv.encode(),
                "activities/4801048867.fit.gz": gzip.compress((SWEAT / "4801048867.fit").read_bytes()),
                "activities/1001.gpx": gpx_run(day(1), name=""),
                "media/photo.jpg": b"\xff\xd8\xff",
            }
        ),
    )


def test_strava_export_names_from_csv_and_dedup_with_watch_file(engine, settings: Settings, tmp_path: Path) -> None:
    watch = run(engine, settings, SWEAT / "4801048867.fit")
    assert watch.imported == 1
    rep = run(engine, settings, _strava_export(tmp_path))
    assert rep.failed == []
    assert rep.duplicates == 1 and rep.imported == 1
    with engine.connect() as conn:
        names = {r.name for r in conn.execute(select(activities.c.name))}
    assert names == {"Evening Ride by the river", "Tempo Tuesday"}


def test_garmin_export_nested_zip(engine, settings: Settings, tmp_path: Path) -> None:
    inner = hostile.zip_bytes({"run_1.fit": (FITPARSE / "activity-small-fenix2-run.fit").read_bytes(), "run_2.fit": (FITPARSE / "2013-02-06-12-11-14.fit").read_bytes()})
    outer = hostile.write(tmp_path / "garmin.zip", hostile.zip_bytes({"DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner}))
    rep = run(engine, settings, outer)
    assert rep.imported == 2
    assert all("UploadedFiles_0-_Part1.zip!run_" in o.path for o in rep.outcomes)


def test_folder_walk_like_a_usb_watch(engine, settings: Settings, tmp_path: Path) -> None:
    act = tmp_path / "GARMIN" / "Activity"
    act.mkdir(parents=True)
    (act / "A1.FIT").write_bytes((FITPARSE / "activity-small-fenix2-run.fit").read_bytes())
    (act / "._A1.FIT").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "GARMIN" / "Settings.txt").write_text("not ours")
    rep = run(engine, settings, tmp_path)
    assert rep.imported == 1 and len(rep.skipped) == 1 and rep.failed == []


def test_many_files_in_parallel_workers(engine, settings: Settings, tmp_path: Path) -> None:
    for i in range(12):
        hostile.write(tmp_path / f"run{i:02d}.gpx", gpx_run(day(i), duration_s=600, step_s=5))
    rep = import_paths(engine, import_env(settings), [tmp_path], athlete="me", workers=2)
    assert rep.imported == 12 and rep.failed == []
    assert count(engine, activities) == 12


def test_unzipped_strava_export_files_named_one_by_one_keep_csv_names(engine, settings: Settings, tmp_path: Path) -> None:
    # The folder source hands new files to the importer one at a time, not the folder.
    with zipfile.ZipFile(_strava_export(tmp_path)) as zf:
        zf.extractall(tmp_path / "export")
    rep = run(engine, settings, tmp_path / "export" / "activities" / "1001.gpx", tmp_path / "export" / "activities" / "4801048867.fit.gz")
    assert rep.imported == 2
    with engine.connect() as conn:
        names = {r.name for r in conn.execute(select(activities.c.name))}
    assert names == {"Evening Ride by the river", "Tempo Tuesday"}


def test_a_decoder_process_killed_mid_batch_costs_nothing(engine, settings: Settings, tmp_path: Path) -> None:
    import os
    import signal

    from heavylegs.importer import Importer
    from ingest.limits import Limits
    from ingest.walk import iter_items

    for i in range(14):
        hostile.write(tmp_path / f"run{i:02d}.gpx", gpx_run(day(i), duration_s=600, step_s=5))
    importer = Importer(engine, import_env(settings), "me", workers=2)
    killed: list[int] = []

    def items():  # type: ignore[no-untyped-def]
        for n, item in enumerate(iter_items([tmp_path], Limits.from_mapping(settings.section("import")))):
            pool = importer._pool
            if n == 9 and pool is not None:
                # what the kernel's OOM killer does to a worker with files in flight
                for pid in list(pool._processes):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            yield item

    rep = importer.run(items())
    assert killed, "the pool was never started, nothing was tested"
    assert rep.failed == [] and rep.imported == 14
    assert count(engine, activities) == 14


def test_archive_members_in_a_folder_stream_instead_of_being_listed(settings: Settings, tmp_path: Path) -> None:
    from heavylegs.importer import _counted
    from ingest.limits import Limits
    from ingest.walk import iter_items

    members = {f"run{i}.gpx": gpx_run(day(i), duration_s=300, step_s=10) for i in range(20)}
    hostile.write(tmp_path / "a_plain.gpx", gpx_run(day(30), duration_s=300, step_s=10))
    hostile.write(tmp_path / "export.zip", hostile.zip_bytes(members))
    produced = 0

    def walk():  # type: ignore[no-untyped-def]
        nonlocal produced
        for item in iter_items([tmp_path], Limits.from_mapping(settings.section("import"))):
            produced += 1
            yield item

    items, total = _counted(walk())
    assert total is None and produced == 2  # the plain file and the first member, no more
    assert len(list(items)) == 21 and produced == 21
    plain, plain_total = _counted(iter_items([tmp_path / "a_plain.gpx"], Limits()))
    assert plain_total == 1 and len(list(plain)) == 1
