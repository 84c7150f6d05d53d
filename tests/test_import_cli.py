"""The import CLI as users script it: JSON shape, exit status, resume after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from heavylegs.store.tables import activities
from tests import hostile
from tests.helpers import CORPUS, FIXTURES, needs_corpus, poll, run_cli, run_process
from tests.synth import day, gpx_run


def _env(tmp_path: Path, db: str | None = None) -> dict[str, str]:
    env = {"HEAVYLEGS_DATA_DIR": str(tmp_path / "data")}
    if db:
        env["HEAVYLEGS_DB"] = db
    return env


def test_import_json_and_exit_status(tmp_path: Path) -> None:
    bad = hostile.write(tmp_path / "broken.fit", b"\x0e\x10\x00\x00garbage.FIT" + b"\x00" * 20)
    good = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"
    res = run_cli("import", str(good), str(bad), str(FIXTURES / "python-fitparse" / "Settings.fit"), "--json", env=_env(tmp_path))
    assert res.returncode == 2, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"imported", "duplicates", "skipped", "failed"}
    assert out["imported"] == 1
    assert out["failed"][0]["path"] == str(bad) and out["failed"][0]["reason"]
    assert out["skipped"][0]["path"].endswith("Settings.fit")
    again = run_cli("import", str(good), "--json", env=_env(tmp_path))
    assert again.returncode == 0 and json.loads(again.stdout)["duplicates"] == 1
    listing = json.loads(run_cli("activities", "--json", env=_env(tmp_path)).stdout)
    assert len(listing) == 1
    act = listing[0]
    for key in ("id", "start_utc", "local_date", "utc_offset_s", "sport", "sub_sport", "device", "elapsed_s", "moving_s", "distance_m", "avg_hr_bpm", "max_hr_bpm", "has_gps", "sources"):
        assert key in act
    assert act["start_utc"].endswith("Z") and act["sport"] == "running"
    assert act["sources"][0]["kind"] == "file" and len(act["sources"][0]["sha256"]) == 64
    shown = json.loads(run_cli("show", str(act["id"]), "--json", env=_env(tmp_path)).stdout)
    assert shown["streams"]["samples"] > 1000 and "hr_bpm" in shown["streams"]
    assert run_cli("activities", "--sport", "cycling", "--json", env=_env(tmp_path)).stdout.strip() == "[]"


def test_kill_9_mid_import_then_rerun_gives_the_same_store(tmp_path: Path) -> None:
    src = tmp_path / "history"
    n = 120
    for i in range(n):
        hostile.write(src / f"run{i:03d}.gpx", gpx_run(day(i), duration_s=900, step_s=3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")} | _env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "heavylegs", "import", str(src), "--json", "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = tmp_path / "data" / "heavylegs.db"
    engine = create_engine(f"sqlite:///{db}")
    stored = 0

    def ten_stored() -> bool:
        nonlocal stored
        if not db.exists():
            return False
        try:
            with engine.connect() as conn:
                stored = conn.execute(select(func.count()).select_from(activities)).scalar_one()
        except Exception:  # noqa: BLE001 - schema may not exist yet
            return False
        return stored >= 10

    poll(ten_stored, 60, interval=0.05, what="ten runs stored before the kill")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < stored < n, "the kill must land mid-import"
    res = run_cli("import", str(src), "--json", env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["imported"] + out["duplicates"] == n and out["failed"] == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(activities)).scalar_one() == n
        starts = [r[0] for r in conn.execute(select(activities.c.start_ts))]
    assert len(set(starts)) == n
    engine.dispose()


@needs_corpus
def test_whole_corpus_is_accounted_for(tmp_path: Path) -> None:
    res = run_process("import", str(CORPUS), "--json", env=_env(tmp_path), timeout=300)
    out = json.loads(res.stdout)
    files = [p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in {".fit", ".gpx", ".tcx", ".gz", ".zip"}]
    accounted = out["imported"] + out["duplicates"] + len(out["skipped"]) + len(out["failed"])
    # zips hold one activity file each, plus one __MACOSX member in one of them.
    assert accounted == len(files) + 1, out
    assert res.returncode == (2 if out["failed"] else 0)
    for entry in out["skipped"] + out["failed"]:
        assert entry["reason"] and "decoder error" not in entry["reason"], entry
    skipped = {Path(e["path"].split("!")[0]).name for e in out["skipped"]}
    assert {"Settings.fit", "MonitoringFile.fit", "WorkoutRepeatSteps.fit", "route.gpx"} <= skipped
    listing = json.loads(run_cli("activities", "--json", env=_env(tmp_path)).stdout)
    refs = {s["ref"].split("/")[-1] for a in listing for s in a["sources"]}
    # The known pairs end up as one activity each.
    by_ref = {Path(s["ref"].split("!")[-1]).name: a["id"] for a in listing for s in a["sources"]}
    assert by_ref["10kUNLP2014-Garmin15.fit"] == by_ref["10kUNLP2014-Garmin15.tcx"]
    assert by_ref["Fr955v19.28andStryd.fit"] == by_ref[Path("Fr955v19.28andStryd.fit").name]
    assert by_ref["4801048867.fit"] == by_ref["4801048867_strava.gpx"] == by_ref["activity_4801048867.gpx"]
    assert refs
