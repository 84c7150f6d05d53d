"""`heavylegs rebuild`: re-derive every activity from the kept original bytes."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select, update

from heavylegs.store.tables import activities, activity_sources
from tests.helpers import FIXTURES, run_cli

FP = FIXTURES / "python-fitparse"


def _listing(env: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    res = run_cli("activities", "--json", env=env)
    assert res.returncode == 0, res.stderr
    return sorted(json.loads(res.stdout), key=lambda a: a["id"])


def test_rebuild_restores_damaged_rows_and_keeps_ids_names_and_links(tmp_path: Path) -> None:
    env = {"HEAVYLEGS_DATA_DIR": str(tmp_path / "data")}
    files = [FP / "activity-small-fenix2-run.fit", FP / "sample_mulitple_header.fit"]
    assert run_cli("import", *map(str, files), "--json", env=env).returncode == 0
    before = _listing(env)
    assert any(a["sport"] == "multisport" for a in before) and any(a["parent_id"] for a in before)

    # What an older decoder might have stored: wrong totals, a lost name, legs gone.
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}")
    run = next(a for a in before if a["sport"] == "running" and a["parent_id"] is None)
    tri = next(a for a in before if a["sport"] == "multisport")
    with engine.begin() as conn:
        conn.execute(update(activities).where(activities.c.id == run["id"]).values(distance_m=1.0, elapsed_s=1.0, name="My Sunday long run"))
        legs_before = sorted((a for a in before if a["parent_id"] == tri["id"]), key=lambda a: a["start_utc"])
        # The middle leg is lost; the others had their distance zeroed.
        conn.execute(activities.delete().where(activities.c.id == legs_before[2]["id"]))
        conn.execute(update(activities).where(activities.c.parent_id == tri["id"]).values(distance_m=0.0))
    engine.dispose()

    res = run_cli("rebuild", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rebuilt"] == 2

    after = _listing(env)
    by_id = {a["id"]: a for a in after}
    assert by_id[run["id"]]["distance_m"] == run["distance_m"] and by_id[run["id"]]["elapsed_s"] == run["elapsed_s"]
    assert by_id[run["id"]]["name"] == "My Sunday long run"  # a user-given name outlives the decoder
    legs = sorted((a for a in after if a["parent_id"] == tri["id"]), key=lambda a: a["start_utc"])
    assert [leg["sport"] for leg in legs] == [leg["sport"] for leg in legs_before]
    assert [leg["distance_m"] for leg in legs] == [leg["distance_m"] for leg in legs_before]
    # Legs that survived keep their ids (metrics and alerts point at them); only the lost one is new.
    kept = [0, 1, 3, 4]
    assert [legs[i]["id"] for i in kept] == [legs_before[i]["id"] for i in kept]
    assert legs[2]["id"] not in {leg["id"] for leg in legs_before}
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'heavylegs.db'}")
    with engine.connect() as conn:
        refs = {r.ref for r in conn.execute(select(activity_sources.c.ref).where(activity_sources.c.activity_id.in_([leg["id"] for leg in legs])))}
    engine.dispose()
    assert refs == {str(FP / "sample_mulitple_header.fit")}  # legs point at the user's file
