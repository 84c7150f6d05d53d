"""Garmin through the CLI against the strict loopback fake: connect, sync, backfill, expiry, disconnect."""
from __future__ import annotations

import json
import math
import os
import shutil
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
from heavylegs.sources.tables import garmin_activities, source_credentials
from heavylegs.store.tables import activities, activity_sources, sources
from tests.garmin_fake import FakeActivity, GarminFake
from tests.helpers import FIXTURES, poll

KEY = "hlk_test_personal_key_0123456789"
FENIX2 = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"  # 2015-08-15 14:45:08Z, 2832 s, 9008 m
CYCLING = FIXTURES / "sweatpy" / "2020-06-01-16-52-40.fit"


def synth(activity_id: int, start: datetime, minutes: float = 30.0, type_key: str = "running") -> FakeActivity:
    start_unix = int(start.timestamp())
    seconds = int(minutes * 60)
    fit = synthetic_run(hours=minutes / 60.0, start_unix=start_unix)
    distance_m = sum(3.0 + 0.5 * math.sin(i / 600.0) for i in range(seconds))  # the speed profile synthetic_run writes
    return FakeActivity(activity_id, float(start_unix), float(seconds), round(distance_m, 1), type_key, fit)


class Env:
    """A data dir, a SQLite store and a config pointing at the fake."""

    def __init__(self, tmp_path: Path, fake: GarminFake, **garmin: Any) -> None:
        self.tmp = tmp_path
        self.db = f"sqlite:///{tmp_path / 'hl.db'}"
        self.cfg = tmp_path / "cfg.toml"
        values = {"api_url": fake.url, "max_requests_per_minute": 600, "sync_max_wait_s": 5, **garmin}
        lines = ["[import]", "workers = 1", "[garmin]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        self.cfg.write_text("\n".join(lines) + "\n")
        self.fake = fake
        self._engine: Engine | None = None

    def args(self, *args: str) -> list[str]:
        return ["--data-dir", str(self.tmp / "data"), "--db", self.db, "--config", str(self.cfg), *args]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, self.args(*args), env=env, catch_exceptions=False)

    def json(self, *args: str, code: int = 0) -> Any:
        result = self.cli(*args)
        assert result.exit_code == code, (result.output, result.stderr if hasattr(result, "stderr") else "")
        return json.loads(result.stdout)

    def connect(self, name: str = "garmin", key: str = KEY, *extra: str) -> Result:
        key_file = self.tmp / f"{name}.key"
        key_file.write_text(key + "\n")
        return self.cli("connect", "garmin", "--name", name, "--athlete", "me", "--key-file", str(key_file), *extra)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.db)
        return self._engine

    def count(self, table: Any, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)


@pytest.fixture
def fake() -> Iterator[GarminFake]:
    f = GarminFake(min_interval_s=0.05).start()
    f.add_key(KEY)
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def env(tmp_path: Path, fake: GarminFake) -> Iterator[Env]:
    e = Env(tmp_path, fake)
    yield e
    if e._engine is not None:
        e._engine.dispose()


def test_connect_refuses_a_bad_key_and_stores_a_good_one_encrypted(env: Env, fake: GarminFake) -> None:
    bad = env.connect(key="not-a-key")
    assert bad.exit_code == 1 and "refused this API key" in bad.stderr and "not-a-key" not in bad.output
    assert env.json("sources", "--json") == []
    good = env.connect("garmin", KEY, "--key-expires", "2030-01-31")
    assert good.exit_code == 0, good.output
    assert KEY not in good.output and "stored encrypted" in good.output
    [row] = env.json("sources", "--json")
    assert (row["kind"], row["status"], row["key_expires"], row["activities"]) == ("garmin", "ok", "2030-01-31", 0)
    assert KEY not in json.dumps(row)
    with env.engine.connect() as conn:
        secret, token = conn.execute(select(source_credentials.c.secret_enc, source_credentials.c.token_enc)).one()
    assert KEY.encode() not in secret and token is not None  # Fernet-encrypted; the token is cached for the next process
    exchanges = fake.requests_to("/personalapitoken-service")
    assert [c.status for c in exchanges if c.status != 429] == [401, 200]  # a 429 (too fast after the bad try) is waited out


def test_key_from_an_environment_variable_and_reserved_name(env: Env) -> None:
    result = env.cli("connect", "garmin", "--name", "inbox", "--key-env", "GARMIN_KEY", env={"GARMIN_KEY": KEY})
    assert result.exit_code == 1 and "reserved" in result.stderr
    result = env.cli("connect", "garmin", "--name", "watch", "--key-env", "GARMIN_KEY", env={"GARMIN_KEY": KEY})
    assert result.exit_code == 0, result.output
    piped = CliRunner().invoke(main, env.args("connect", "garmin", "--name", "piped"), input=KEY + "\n")
    assert piped.exit_code == 0 and KEY not in piped.output
    empty = CliRunner().invoke(main, env.args("connect", "garmin", "--name", "empty"), input="")
    assert empty.exit_code == 2 and "no key given" in empty.output
    folder = env.tmp / "inbox"
    folder.mkdir()
    refused = env.cli("connect", "folder", str(folder))  # the folder's name would be the source name
    assert refused.exit_code != 0 and "reserved" in refused.output
    assert env.cli("connect", "folder", str(folder), "--name", "usb").exit_code == 0


def test_sync_downloads_only_new_tracked_runs_and_reuses_the_token(env: Env, fake: GarminFake, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    runs = [synth(9001 + i, now - timedelta(days=1 + i, hours=3)) for i in range(3)]
    for act in runs:
        fake.add(act)
    fake.add(synth(9100, now - timedelta(days=2, hours=8), type_key="cycling"))
    fake.add(synth(9200, now - timedelta(days=30)))  # older than lookback_days
    export = tmp_path / "export"
    export.mkdir()
    (export / "run.fit").write_bytes(runs[0].fit)  # the same run, already imported from a file
    assert env.cli("import", str(export)).exit_code == 0
    assert env.connect().exit_code == 0
    first = env.json("sync", "garmin", "--json")
    assert (first["new"], first["duplicates"], first["failed"], first["status"]) == (2, 1, 0, "ok")
    assert sorted(fake.downloads()) == [9002, 9003]
    assert env.count(activities) == 3
    with env.engine.connect() as conn:
        refs = sorted(r[0] for r in conn.execute(select(activity_sources.c.ref).where(activity_sources.c.kind == "garmin")))
    assert refs == ["9001", "9002", "9003"]  # every run records its Garmin id, the imported one too
    shown = [src for act in env.json("activities", "--json") for src in act["sources"] if src["kind"] == "garmin"]
    assert sorted(src["ref"] for src in shown) == ["9001", "9002", "9003"]
    files = sorted(src["ref"] for act in env.json("activities", "--json") for src in act["sources"] if src["kind"] == "file")
    assert files[1:] == ["garmin/9002.zip!9002_ACTIVITY.fit", "garmin/9003.zip!9003_ACTIVITY.fit"]  # stable names, no temp paths
    assert files[0].endswith("export/run.fit")
    again = env.json("sync", "garmin", "--json")
    assert (again["new"], again["duplicates"]) == (0, 0) and len(fake.downloads()) == 2
    assert len(fake.requests_to("/personalapitoken-service")) == 1  # connect's token served both syncs
    assert 429 not in fake.statuses()
    listed = fake.requests_to("/activitylist-service")
    assert listed[0].query["startDate"] == (now.date() - timedelta(days=7)).isoformat()
    [row] = env.json("sources", "--json")
    assert row["activities"] == 3 and row["last_success"] is not None and row["last_error"] is None


@pytest.mark.parametrize("style", ["quoted", "json"])
def test_token_answer_quoted_or_json_is_accepted(env: Env, fake: GarminFake, style: str) -> None:
    fake.token_style = style
    fake.add(synth(7001, datetime.now(timezone.utc) - timedelta(days=1)))
    assert env.connect().exit_code == 0
    assert env.json("sync", "garmin", "--json")["new"] == 1


def test_expired_token_is_exchanged_once_more(env: Env, fake: GarminFake) -> None:
    fake.add(synth(7101, datetime.now(timezone.utc) - timedelta(days=1)))
    assert env.connect().exit_code == 0
    fake.expire_tokens()  # the cached token still looks valid locally: the API answers 401
    assert env.json("sync", "garmin", "--json")["new"] == 1
    assert [c.status for c in fake.requests_to("/personalapitoken-service")] == [200, 200]
    assert [c.status for c in fake.requests_to("/activitylist-service")] == [401, 200]


def test_backfill_skips_runs_from_a_garmin_export(env: Env, fake: GarminFake, tmp_path: Path) -> None:
    start = datetime(2023, 1, 2, 6, 0, tzinfo=timezone.utc)
    runs = [synth(50_000 + i, start + timedelta(days=9 * i)) for i in range(12)]
    for act in runs:
        fake.add(act)
    fake.add(synth(59_999, start + timedelta(days=3), type_key="cycling"))
    export = tmp_path / "garmin-export"
    export.mkdir()
    for act in runs[::3]:  # four runs arrive first from the export's files
        (export / f"{act.activity_id}_ACTIVITY.fit").write_bytes(act.fit)
    assert env.cli("import", str(export)).exit_code == 0
    assert env.connect().exit_code == 0
    plan = env.json("backfill", "--source", "garmin", "--since", "2023-01-01", "--until", "2023-06-30", "--dry-run", "--json")
    assert (plan["status"], plan["listed"], plan["already_present"], plan["plan"]["download_requests"]) == ("planned", 12, 4, 8)
    assert fake.downloads() == []
    before = len(fake.calls)
    report = env.json("backfill", "--source", "garmin", "--since", "2023-01-01", "--until", "2023-06-30", "--json")
    assert {k: report[k] for k in ("listed", "already_present", "fetched", "failed", "status")} == \
        {"listed": 12, "already_present": 4, "fetched": 8, "failed": [], "status": "done"}
    assert report["requests"] == len(fake.calls) - before  # three windows listed, eight downloads
    assert sorted(fake.downloads()) == sorted(a.activity_id for i, a in enumerate(runs) if i % 3)
    assert env.count(activities) == 12 and 429 not in fake.statuses()
    windows = {(c.query.get("startDate"), c.query.get("endDate")) for c in fake.requests_to("/activitylist-service")}
    assert windows == {("2023-01-01", "2023-03-31"), ("2023-04-01", "2023-06-29"), ("2023-06-30", "2023-06-30")}  # 90-day windows
    rerun = env.json("backfill", "--source", "garmin", "--since", "2023-01-01", "--until", "2023-06-30", "--json")
    assert (rerun["fetched"], rerun["already_present"], len(fake.downloads())) == (0, 12, 8)


def test_no_wait_pauses_with_75_then_resumes(env: Env, fake: GarminFake) -> None:
    start = datetime(2022, 3, 1, 7, 0, tzinfo=timezone.utc)
    for i in range(6):
        fake.add(synth(60_000 + i, start + timedelta(days=2 * i)))
    assert env.connect().exit_code == 0
    fake.quota = len(fake.calls) + 4  # a list page and three downloads, then 429 Retry-After: 1
    paused = env.cli("backfill", "--source", "garmin", "--since", "2022-03-01", "--until", "2022-03-31", "--no-wait", "--json")
    assert paused.exit_code == 75, paused.output
    body = json.loads(paused.stdout)
    assert body["status"] == "paused" and body["resume_at"] > time.time() - 5 and body["fetched"] == 3
    fake.lift_quota()
    done = env.json("backfill", "--source", "garmin", "--since", "2022-03-01", "--until", "2022-03-31", "--no-wait", "--json")
    assert (done["status"], done["fetched"], done["already_present"]) == ("done", 3, 3)
    assert sorted(Counter(fake.downloads()).values()) == [1] * 6  # nothing downloaded twice
    assert len([c for c in fake.requests_to("/activitylist-service") if c.status == 200]) == 1  # the listing is not repeated


def test_waiting_on_retry_after_without_no_wait(env: Env, fake: GarminFake) -> None:
    fake.add(synth(61_000, datetime(2022, 5, 1, 7, tzinfo=timezone.utc)))
    assert env.connect().exit_code == 0
    fake.quota = len(fake.calls) + 1
    import threading

    threading.Timer(0.3, fake.lift_quota).start()
    report = env.json("backfill", "--source", "garmin", "--since", "2022-05-01", "--until", "2022-05-02", "--json")
    assert (report["status"], report["fetched"]) == ("done", 1) and 429 in fake.statuses()


def _subprocess(env: Env, *args: str) -> list[str]:
    return [sys.executable, "-m", "heavylegs", *env.args(*args)]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}


def test_killed_backfill_resumes_without_duplicates_or_refetch(env: Env, fake: GarminFake) -> None:
    start = datetime(2021, 4, 1, 6, 0, tzinfo=timezone.utc)
    ids = [70_000 + i for i in range(10)]
    for i, gid in enumerate(ids):
        fake.add(synth(gid, start + timedelta(days=i)))
    assert env.connect().exit_code == 0
    fake.download_delay_s = 0.2
    proc = subprocess.Popen(_subprocess(env, "backfill", "--source", "garmin", "--since", "2021-04-01", "--until", "2021-04-30", "--json"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
    try:
        poll(lambda: len(fake.downloads()) >= 3 or proc.poll() is not None, 60, interval=0.02, what="three downloads")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    stored_before = {int(r) for r in _garmin_refs(env)}
    assert 3 <= len(fake.downloads()) < 10 and len(stored_before) < 10
    fake.download_delay_s = 0.0
    rerun = subprocess.run(_subprocess(env, "backfill", "--source", "garmin", "--since", "2021-04-01", "--until", "2021-04-30", "--json"),
                           capture_output=True, text=True, env=_clean_env(), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["status"] == "done"
    assert env.count(activities) == 10 and sorted(int(r) for r in _garmin_refs(env)) == ids
    twice = [gid for gid, n in Counter(fake.downloads()).items() if n > 1]
    assert not set(twice) & stored_before  # nothing stored before the kill was downloaded again
    assert len(twice) <= 1  # at most the file in flight when the process died


def _garmin_refs(env: Env) -> list[str]:
    with env.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(activity_sources.c.ref).where(activity_sources.c.kind == "garmin"))]


def test_revoked_key_needs_reauth_one_alert_and_reconnect_keeps_activities(env: Env, fake: GarminFake) -> None:
    fake.add(synth(8001, datetime.now(timezone.utc) - timedelta(days=1)))
    assert env.connect().exit_code == 0
    assert env.json("sync", "garmin", "--json")["new"] == 1
    fake.revoke(KEY)
    fake.expire_tokens()
    failed = env.json("sync", "garmin", "--json", code=1)
    assert failed["status"] == "needs_reauth" and "connect garmin --name garmin" in failed["error"] and KEY not in failed["error"]
    [row] = env.json("sources", "--json")
    assert row["status"] == "needs_reauth" and row["activities"] == 1
    for _ in range(2):
        env.json("sync", "garmin", "--json", code=1)
        assert env.cli("alerts", "check").exit_code == 0
    stalled = [a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]
    assert len(stalled) == 1
    assert "Create a new personal API key" in stalled[0]["message"] and "heavylegs connect garmin --name garmin" in stalled[0]["message"]
    new_key = "hlk_second_key_abcdef"
    fake.add_key(new_key)
    again = env.connect("garmin", new_key)
    assert again.exit_code == 0 and "reconnected" in again.output
    [row] = env.json("sources", "--json")
    assert row["status"] == "ok" and row["activities"] == 1
    assert env.json("sync", "garmin", "--json")["status"] == "ok"


def test_key_expiry_a_week_ahead_raises_one_alert(env: Env, fake: GarminFake) -> None:
    soon = (datetime.now(timezone.utc).date() + timedelta(days=5)).isoformat()
    assert env.connect("garmin", KEY, "--key-expires", soon).exit_code == 0
    for _ in range(2):
        assert env.cli("alerts", "check").exit_code == 0
    found = [a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]
    assert len(found) == 1 and soon in found[0]["message"] and "expires in 5 days" in found[0]["message"]
    later = (datetime.now(timezone.utc).date() + timedelta(days=60)).isoformat()
    assert env.connect("other", KEY, "--key-expires", later).exit_code == 0
    assert env.cli("alerts", "check").exit_code == 0
    assert len([a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]) == 1  # 60 days ahead: no alert


def test_disconnect_purge_removes_only_garmin_runs_and_the_key(env: Env, fake: GarminFake, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    runs = [synth(9501 + i, now - timedelta(days=1 + i)) for i in range(3)]
    for act in runs:
        fake.add(act)
    export = tmp_path / "export"
    export.mkdir()
    (export / "a.fit").write_bytes(runs[0].fit)
    shutil.copy(FENIX2, export / "fenix2.fit")
    assert env.cli("import", str(export)).exit_code == 0
    assert env.connect().exit_code == 0
    env.json("sync", "garmin", "--json")
    assert env.count(activities) == 4
    result = env.cli("disconnect", "garmin", "--purge")
    assert result.exit_code == 0 and "deleted 2 activities" in result.output
    assert env.count(activities) == 2  # the imported files' runs stay
    assert env.count(source_credentials) == 0 and env.count(garmin_activities) == 0 and env.count(sources) == 0


def test_backfill_without_since_lists_the_whole_history(env: Env, fake: GarminFake) -> None:
    for i in range(3):
        fake.add(synth(30_000 + i, datetime(2016 + 3 * i, 5, 1, 7, tzinfo=timezone.utc)))
    assert env.connect().exit_code == 0
    report = env.json("backfill", "--source", "garmin", "--json")
    assert (report["listed"], report["fetched"], report["status"]) == (3, 3, "done")
    assert all("startDate" not in c.query for c in fake.requests_to("/activitylist-service"))  # one undated listing
