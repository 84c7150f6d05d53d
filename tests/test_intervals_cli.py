"""intervals.icu through the CLI against the strict loopback fake: connect, sync, backfill, Strava copies, health, disconnect."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, func, select

from benchmarks.synth_fit import synthetic_run
from heavylegs.cli import main
from heavylegs.sources.tables import remote_activities, source_credentials
from heavylegs.store.tables import activities, activity_sources, sources
from tests.helpers import FIXTURES, poll
from tests.intervals_fake import FakeActivity, IntervalsFake, utc

KEY = "icu_test_key_0123456789abcdef"
ATHLETE = "i424242"
FENIX2 = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"  # 2015-08-15 14:45:08Z, 2832 s, 9008 m
RUN2013 = FIXTURES / "python-fitparse" / "2013-02-06-12-11-14.fit"  # 2013-02-06 12:11:14Z, 2625 s, 4835 m
TCX = FIXTURES / "sweatpy" / "3173437224.tcx"  # 2019-01-29 10:25:13Z, 3904 s elapsed, 4509 m
RIDE = FIXTURES / "sweatpy" / "4801048867.fit"


def real(activity_id: str, path: Path, start: datetime, elapsed_s: float, distance_m: float, **kw: Any) -> FakeActivity:
    return FakeActivity(activity_id, start, elapsed_s, distance_m, path.read_bytes(), **kw)


def synth(activity_id: str, start: datetime, minutes: float = 30.0, **kw: Any) -> FakeActivity:
    start = start.replace(microsecond=0)
    seconds = int(minutes * 60)
    distance_m = sum(3.0 + 0.5 * math.sin(i / 600.0) for i in range(seconds))  # the speed profile synthetic_run writes
    return FakeActivity(activity_id, start, float(seconds), round(distance_m, 1), synthetic_run(hours=minutes / 60.0, start_unix=int(start.timestamp())), **kw)


class Env:
    def __init__(self, tmp_path: Path, fake: IntervalsFake) -> None:
        self.tmp, self.fake = tmp_path, fake
        self.db = f"sqlite:///{tmp_path / 'hl.db'}"
        self.cfg = tmp_path / "cfg.toml"
        self.cfg.write_text(f'[import]\nworkers = 1\n[intervals]\napi_url = "{fake.url}"\nmax_requests_per_minute = 600\nsync_max_wait_s = 5\n')
        self._engine: Engine | None = None

    def args(self, *args: str) -> list[str]:
        return ["--data-dir", str(self.tmp / "data"), "--db", self.db, "--config", str(self.cfg), *args]

    def cli(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return CliRunner().invoke(main, self.args(*args), env=env, input=input, catch_exceptions=False)

    def json(self, *args: str, code: int = 0) -> Any:
        result = self.cli(*args)
        assert result.exit_code == code, (result.output, result.stderr)
        return json.loads(result.stdout)

    def connect(self, name: str = "icu", key: str = KEY, athlete_id: str = ATHLETE) -> Result:
        key_file = self.tmp / f"{name}.key"
        key_file.write_text(key + "\n")
        return self.cli("connect", "intervals", "--name", name, "--athlete-id", athlete_id, "--athlete", "me", "--key-file", str(key_file))

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.db)
        return self._engine

    def count(self, table: Any, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

    def refs(self, kind: str = "intervals") -> list[str]:
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(select(activity_sources.c.ref).where(activity_sources.c.kind == kind)))


@pytest.fixture
def fake() -> Iterator[IntervalsFake]:
    f = IntervalsFake(min_interval_s=0.02).start()
    f.add_key(KEY, ATHLETE)
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def env(tmp_path: Path, fake: IntervalsFake) -> Iterator[Env]:
    e = Env(tmp_path, fake)
    yield e
    if e._engine is not None:
        e._engine.dispose()


def test_connect_checks_the_key_at_once_and_stores_it_encrypted(env: Env, fake: IntervalsFake) -> None:
    bad = env.connect(key="wrong-key")
    assert bad.exit_code == 1 and "refused this API key" in bad.stderr and "wrong-key" not in bad.output
    other = env.connect(athlete_id="i999")  # a good key for someone else's athlete: 403
    assert other.exit_code == 1 and "refused this API key for athlete i999" in other.stderr
    malformed = env.connect(athlete_id="bob")
    assert malformed.exit_code == 1 and "--athlete-id must look like i12345" in malformed.stderr
    assert env.json("sources", "--json") == []
    good = env.connect()
    assert good.exit_code == 0, good.output
    assert KEY not in good.output and "stored encrypted" in good.output
    [row] = env.json("sources", "--json")
    assert (row["kind"], row["name"], row["status"], row["activities"], row["last_error"]) == ("intervals", "icu", "ok", 0, None)
    assert KEY not in json.dumps(row)
    with env.engine.connect() as conn:
        secret = conn.execute(select(source_credentials.c.secret_enc)).scalar_one()
    assert KEY.encode() not in secret
    assert [c.status for c in fake.lists()] == [401, 403, 200]  # the malformed id never left the machine
    piped = env.cli("connect", "intervals", "--name", "piped", "--athlete-id", "0", input=KEY + "\n")
    assert piped.exit_code == 0 and KEY not in piped.output
    from_env = env.cli("connect", "intervals", "--name", "envkey", "--athlete-id", ATHLETE, "--key-env", "ICU_KEY", env={"ICU_KEY": KEY})
    assert from_env.exit_code == 0, from_env.output


def test_sync_downloads_new_runs_skips_strava_and_links_a_run_from_a_folder(env: Env, fake: IntervalsFake, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    runs = [synth(f"i{1000 + i}", now - timedelta(days=1 + i, hours=5)) for i in range(3)]
    runs[1].gzip = False  # some originals arrive plain
    for act in runs:
        fake.add(act)
    fake.add(synth("i2000", now - timedelta(days=2, hours=1), type="Ride"))
    fake.add(synth("i3000", now - timedelta(days=3, hours=9), source="STRAVA"))  # a stub with _note
    fake.add(synth("i3001", now - timedelta(days=4, hours=9), source="STRAVA", stub=False))  # listed in full, file answers 422
    fake.add(synth("i4000", now - timedelta(days=20)))  # older than lookback_days
    folder = tmp_path / "watch"
    folder.mkdir()
    (folder / "same-run.fit").write_bytes(runs[0].data)
    assert env.cli("import", str(folder)).exit_code == 0
    assert env.connect().exit_code == 0
    first = env.json("sync", "icu", "--json")
    assert (first["new"], first["duplicates"], first["failed"], first["status"]) == (2, 1, 0, "ok"), first
    assert "skipped_strava=2" in first["summary"]
    assert sorted(fake.downloads()) == ["i1001", "i1002"]  # the folder's run, the ride and the Strava copies cost no download
    assert env.count(activities) == 3 and env.refs() == ["i1000", "i1001", "i1002"]
    [linked] = [a for a in env.json("activities", "--json") if any(s["kind"] == "file" and s["ref"].endswith("same-run.fit") for s in a["sources"])]
    assert {"kind": "intervals", "ref": "i1000"} in [{"kind": s["kind"], "ref": s["ref"]} for s in linked["sources"]]  # one activity, both links
    query = fake.lists()[-1].query
    assert query["oldest"] == (now.date() - timedelta(days=7)).isoformat()
    again = env.json("sync", "icu", "--json")
    assert (again["new"], again["duplicates"], again["failed"]) == (0, 0, 0) and len(fake.downloads()) == 2
    assert [c.status for c in fake.calls if c.path.endswith("/file")].count(422) == 1  # the 422 is remembered, not retried
    [row] = env.json("sources", "--json")
    assert row["activities"] == 3 and row["last_success"] is not None and row["status"] == "ok"


def test_backfill_real_files_skips_present_and_strava_then_reruns_without_refetch(env: Env, fake: IntervalsFake, tmp_path: Path) -> None:
    fake.add(real("i11", FENIX2, utc(2015, 8, 15, 14, 45, 8), 2832, 9008.2))
    fake.add(real("i12", RUN2013, utc(2013, 2, 6, 12, 11, 14), 2625, 4835.4))
    fake.add(real("i13", TCX, utc(2019, 1, 29, 10, 25, 13), 3904, 4508.5))
    fake.add(real("i14", RIDE, utc(2020, 6, 20, 7, 0, 0), 5159, 36322.9, type="Ride"))
    fake.add(synth("i15", utc(2018, 5, 5, 6, 0, 0), source="STRAVA"))
    export = tmp_path / "export"
    export.mkdir()
    (export / "fenix2.fit").write_bytes(FENIX2.read_bytes())  # already imported: not downloaded again
    assert env.cli("import", str(export)).exit_code == 0
    assert env.connect().exit_code == 0
    plan = env.json("backfill", "--source", "icu", "--since", "2012-01-01", "--until", "2020-12-31", "--dry-run", "--json")
    assert (plan["status"], plan["listed"], plan["already_present"], plan["skipped_strava"], plan["plan"]["download_requests"]) == \
        ("planned", 4, 1, 1, 2)
    assert fake.downloads() == []
    before = len(fake.calls)
    report = env.json("backfill", "--source", "icu", "--since", "2012-01-01", "--until", "2020-12-31", "--json")
    assert {k: report[k] for k in ("listed", "already_present", "fetched", "failed", "status", "skipped_strava")} == \
        {"listed": 4, "already_present": 1, "fetched": 2, "failed": [], "status": "done", "skipped_strava": 1}
    assert report["requests"] == len(fake.calls) - before == 10 + 2  # ten 365-day windows (2012-01-01..2020-12-31), two downloads
    assert sorted(fake.downloads()) == ["i12", "i13"] and env.count(activities) == 3
    windows = [(c.query["oldest"], c.query["newest"]) for c in fake.lists() if c.query["oldest"] != c.query["newest"]]
    assert windows[0] == ("2012-01-01", "2012-12-30") and windows[-1][1] == "2020-12-31"
    rerun = env.json("backfill", "--source", "icu", "--since", "2012-01-01", "--until", "2020-12-31", "--json")
    assert (rerun["fetched"], rerun["already_present"], rerun["requests"], len(fake.downloads())) == (0, 3, 0, 2)  # listing done: no request
    assert sorted(env.refs()) == ["i11", "i12", "i13"]


def test_no_wait_pauses_with_75_then_resumes(env: Env, fake: IntervalsFake) -> None:
    for i in range(5):
        fake.add(synth(f"i5{i}", utc(2022, 3, 1 + 2 * i, 7)))
    assert env.connect().exit_code == 0
    fake.quota = len(fake.calls) + 3  # the listing and two downloads, then 429 Retry-After: 1
    paused = env.cli("backfill", "--source", "icu", "--since", "2022-03-01", "--until", "2022-03-31", "--no-wait", "--json")
    assert paused.exit_code == 75, paused.output
    body = json.loads(paused.stdout)
    assert body["status"] == "paused" and body["resume_at"] > time.time() - 5 and body["fetched"] == 2
    fake.lift_quota()
    done = env.json("backfill", "--source", "icu", "--since", "2022-03-01", "--until", "2022-03-31", "--no-wait", "--json")
    assert (done["status"], done["fetched"], done["already_present"]) == ("done", 3, 2)
    assert sorted(Counter(fake.downloads()).values()) == [1] * 5
    assert len([c for c in fake.lists() if c.status == 200 and c.query["oldest"] == "2022-03-01"]) == 1  # not listed again


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}


def test_killed_backfill_resumes_without_refetch(env: Env, fake: IntervalsFake) -> None:
    ids = [f"i7{i:02d}" for i in range(8)]
    for i, rid in enumerate(ids):
        fake.add(synth(rid, utc(2021, 4, 1 + i, 6)))
    assert env.connect().exit_code == 0
    fake.download_delay_s = 0.2
    cmd = [sys.executable, "-m", "heavylegs", *env.args("backfill", "--source", "icu", "--since", "2021-04-01", "--until", "2021-04-30", "--json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
    try:
        poll(lambda: len(fake.downloads()) >= 3 or proc.poll() is not None, 60, interval=0.02, what="three downloads")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    stored_before = set(env.refs())
    assert 3 <= len(fake.downloads()) < 8 and len(stored_before) < 8
    fake.download_delay_s = 0.0
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["status"] == "done"
    assert env.count(activities) == 8 and env.refs() == ids
    twice = [rid for rid, n in Counter(fake.downloads()).items() if n > 1]
    assert not set(twice) & stored_before and len(twice) <= 1  # at most the file in flight when the process died


def test_revoked_key_needs_reauth_one_alert_then_reconnect(env: Env, fake: IntervalsFake) -> None:
    fake.add(synth("i801", datetime.now(timezone.utc) - timedelta(days=1)))
    assert env.connect().exit_code == 0
    assert env.json("sync", "icu", "--json")["new"] == 1
    fake.revoke(KEY)
    failed = env.json("sync", "icu", "--json", code=1)
    assert failed["status"] == "needs_reauth" and "connect intervals --name icu" in failed["error"] and KEY not in failed["error"]
    [row] = env.json("sources", "--json")
    assert row["status"] == "needs_reauth" and row["activities"] == 1 and row["last_error"]
    for _ in range(2):
        env.json("sync", "icu", "--json", code=1)
        assert env.cli("alerts", "check").exit_code == 0
    [alert] = [a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]
    assert "intervals.icu" in alert["message"] and "heavylegs connect intervals --name icu" in alert["message"]
    paused = env.cli("backfill", "--source", "icu", "--since", "2024-01-01", "--json")
    assert paused.exit_code == 1 and "connect intervals --name icu" in paused.stderr
    fake.add_key("icu_new_key_zzzzzzzzzzzz", ATHLETE)
    assert env.connect(key="icu_new_key_zzzzzzzzzzzz").exit_code == 0
    [row] = env.json("sources", "--json")
    assert row["status"] == "ok" and row["activities"] == 1


def test_disconnect_purge_removes_only_its_own_runs_and_the_key(env: Env, fake: IntervalsFake, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    runs = [synth(f"i90{i}", now - timedelta(days=1 + i)) for i in range(3)]
    for act in runs:
        fake.add(act)
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.fit").write_bytes(runs[0].data)
    assert env.cli("import", str(folder)).exit_code == 0
    assert env.connect().exit_code == 0
    env.json("sync", "icu", "--json")
    assert env.count(activities) == 3
    result = env.cli("disconnect", "icu", "--purge")
    assert result.exit_code == 0 and "deleted 2 activities" in result.output
    assert env.count(activities) == 1
    assert env.count(source_credentials) == 0 and env.count(remote_activities) == 0 and env.count(sources) == 0
