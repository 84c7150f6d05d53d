"""``heavylegs load``, ``runs`` and ``report`` through the real command (click's CliRunner) on a temporary SQLite database."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from heavylegs.store.db import make_engine, migrate
from tests.helpers import run_cli
from tests.metrics_synth import banister_per_minute, run, store

DAILY = ["date", "load", "acute", "chronic", "acwr", "acwr_uncoupled", "acwr_ewma", "ctl", "atl", "tsb", "monotony", "strain", "run_streak"]
RUNS = ["id", "local_date", "distance_m", "moving_s", "gap_speed_mps", "fade_pct", "decoupling_pct", "cadence_drop_pct", "steady", "load", "load_method", "fade_vs_baseline"]


class Env:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.db = f"sqlite:///{root / 'cli.db'}"
        self.config = root / "config.toml"
        self.config.write_text("[athlete]\nhr_rest_bpm = 60\nhr_max_bpm = 190\n")
        self.today = datetime.now(timezone.utc).date()  # the default athlete time zone is UTC

    def cli(self, *args: str) -> str:
        done = run_cli("--data-dir", str(self.data), "--db", self.db, "--config", str(self.config), *args)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    e = Env(tmp_path_factory.mktemp("cli"))
    engine = make_engine(e.db)
    migrate(engine)
    acts = [run(e.today - timedelta(days=d), 40, hr=150) for d in (40, 33, 26, 19, 12, 5)]
    acts.append(run(e.today - timedelta(days=2), 15, hr=140))  # 2.7 km: load, but not a qualifying run
    store(engine, acts)
    engine.dispose()
    return e


def test_load_json_has_exact_keys_and_trimp_loads(env: Env) -> None:
    rows = json.loads(env.cli("load", "--json"))
    assert all(list(r) == DAILY for r in rows)
    by_day = {date.fromisoformat(r["date"]): r for r in rows}
    assert rows[0]["date"] == (env.today - timedelta(days=40)).isoformat()
    assert date.fromisoformat(rows[-1]["date"]) >= env.today  # series runs up to today
    assert by_day[env.today - timedelta(days=5)]["load"] == pytest.approx(40 * banister_per_minute(150), rel=1e-12)
    assert by_day[env.today - timedelta(days=2)]["load"] == pytest.approx(15 * banister_per_minute(140), rel=1e-12)
    assert rows[0]["acwr"] is None and rows[-1]["acwr"] is not None
    since = (env.today - timedelta(days=6)).isoformat()
    until = (env.today - timedelta(days=3)).isoformat()
    window = json.loads(env.cli("load", "--since", since, "--until", until, "--json"))
    assert [r["date"] for r in window] == [(env.today - timedelta(days=d)).isoformat() for d in (6, 5, 4, 3)]


def test_load_csv_header_and_rows(env: Env) -> None:
    rows = list(csv.reader(io.StringIO(env.cli("load", "--csv"))))
    assert rows[0] == DAILY
    assert len(rows) - 1 >= 41
    assert rows[1][4] == ""  # ACWR undefined on the first day: empty field


def test_load_table_says_what_changed_and_which_anchors(env: Env) -> None:
    out = env.cli("load")
    assert "ACWR" in out and "rolling coupled" in out and "4-week average" in out
    assert "HRmax 190 bpm (from your config), HRrest 60 bpm (from your config)" in out
    assert "injury risk" not in out.lower()


def test_runs_json_and_csv(env: Env) -> None:
    runs = json.loads(env.cli("runs", "--json"))
    assert all(list(r) == RUNS for r in runs)
    assert len(runs) == 6  # the 15-minute run does not qualify
    assert {r["load_method"] for r in runs} == {"trimp"}
    assert runs[0]["distance_m"] == pytest.approx(7200.0) and runs[0]["steady"] is True
    header = env.cli("runs", "--csv").splitlines()[0]
    assert header == ",".join(RUNS)
    recent = json.loads(env.cli("runs", "--since", (env.today - timedelta(days=13)).isoformat(), "--json"))
    assert len(recent) == 2


def test_report_defaults_to_the_data_dir(env: Env, tmp_path: Path) -> None:
    out = env.cli("report").strip()
    assert Path(out) == (env.data / "report.html").resolve()
    assert Path(out).read_text().count('src="data:image/png;base64,') >= 3
    target = tmp_path / "mine.html"
    assert env.cli("report", "--out", str(target)).strip() == str(target.resolve())
    assert target.stat().st_size > 10_000


def test_unknown_athlete_is_a_clear_error(env: Env) -> None:
    done = run_cli("--data-dir", str(env.data), "--db", env.db, "load", "--athlete", "nobody")
    assert done.returncode != 0
    assert "no athlete named 'nobody'" in done.stderr
