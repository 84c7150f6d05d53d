"""Polar AccessLink through the CLI against the strict loopback fake: OAuth connect, sync, limits, consents, revocation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, func, select

from heavylegs.cli import main
from heavylegs.sources.tables import remote_activities, source_credentials
from heavylegs.store.tables import activities, activity_sources, sources
from tests.helpers import FIXTURES
from tests.polar_fake import CLIENT_ID, CLIENT_SECRET, FakeExercise, PolarFake
from tests.service_support import free_port

FENIX2 = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"  # 2015-08-15 14:45:08Z, 2832 s, 9008 m
RUN2013 = FIXTURES / "python-fitparse" / "2013-02-06-12-11-14.fit"  # 2013-02-06 12:11:14Z, 2625 s, 4835 m
TCX = FIXTURES / "sweatpy" / "3173437224.tcx"  # 2019-01-29 10:25:13Z, 3904 s elapsed, 4509 m
GPX = FIXTURES / "sweatpy" / "activity_4801048867.gpx"


def fenix2(ex_id: str = "aBc12", **kw: Any) -> FakeExercise:
    return FakeExercise(ex_id, datetime(2015, 8, 15, 14, 45, 8, tzinfo=timezone.utc), 2832, 9008.2, fit=FENIX2.read_bytes(), **kw)


def run2013(ex_id: str = "xYz34", **kw: Any) -> FakeExercise:
    return FakeExercise(ex_id, datetime(2013, 2, 6, 12, 11, 14, tzinfo=timezone.utc), 2625, 4835.4, fit=RUN2013.read_bytes(), **kw)


def tcx_only(ex_id: str = "tCx56", **kw: Any) -> FakeExercise:
    return FakeExercise(ex_id, datetime(2019, 1, 29, 10, 25, 13, tzinfo=timezone.utc), 3904, 4508.5, tcx=TCX.read_bytes(), **kw)


class Env:
    def __init__(self, tmp_path: Path, fake: PolarFake, **polar: Any) -> None:
        self.tmp, self.fake = tmp_path, fake
        self.port = free_port()
        fake.redirect_uri = f"http://127.0.0.1:{self.port}/oauth/polar/callback"
        self.db = f"sqlite:///{tmp_path / 'hl.db'}"
        self.cfg = tmp_path / "cfg.toml"
        values = {"client_id": CLIENT_ID, "client_secret_env": "POLAR_TEST_SECRET", "oauth_url": f"{fake.url}/oauth2/authorization",
                  "token_url": f"{fake.url}/v2/oauth2/token", "api_url": fake.url, "callback_port": self.port, "sync_max_wait_s": 5, **polar}
        self.cfg.write_text("[import]\nworkers = 1\n[polar]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
        self._engine: Engine | None = None

    def args(self, *args: str) -> list[str]:
        return ["--data-dir", str(self.tmp / "data"), "--db", self.db, "--config", str(self.cfg), *args]

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, self.args(*args), env={"POLAR_TEST_SECRET": CLIENT_SECRET}, catch_exceptions=False)

    def json(self, *args: str, code: int = 0) -> Any:
        result = self.cli(*args)
        assert result.exit_code == code, (result.output, result.stderr)
        return json.loads(result.stdout)

    def start_connect(self, name: str = "polar") -> tuple[subprocess.Popen[str], str]:
        """``connect polar --no-browser`` in a real process; returns it and the authorize URL it printed."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")} | {"POLAR_TEST_SECRET": CLIENT_SECRET}
        proc = subprocess.Popen([sys.executable, "-m", "heavylegs", *self.args("connect", "polar", "--name", name, "--athlete", "me",
                                                                              "--no-browser", "--timeout", "30")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(self.fake.url):
                return proc, line.strip()
        raise AssertionError(proc.stderr.read() if proc.stderr else "no URL printed")

    def connect(self, name: str = "polar") -> str:
        """The whole flow: the browser follows the fake's redirect to the command's loopback callback."""
        proc, url = self.start_connect(name)
        page = httpx.get(url, follow_redirects=True, timeout=30)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and page.status_code == 200, (out, err, page.text)
        return out

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.db)
        return self._engine

    def count(self, table: Any, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

    def refs(self, kind: str = "polar") -> list[str]:
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(select(activity_sources.c.ref).where(activity_sources.c.kind == kind)))


@pytest.fixture
def fake() -> Iterator[PolarFake]:
    f = PolarFake().start()
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def env(tmp_path: Path, fake: PolarFake) -> Iterator[Env]:
    e = Env(tmp_path, fake)
    yield e
    if e._engine is not None:
        e._engine.dispose()


def test_oauth_connect_registers_the_user_and_stores_the_token_encrypted(env: Env, fake: PolarFake) -> None:
    proc, url = env.start_connect()
    query = dict(httpx.QueryParams(httpx.URL(url).query))
    assert (query["response_type"], query["client_id"], query["redirect_uri"]) == ("code", CLIENT_ID, fake.redirect_uri)
    page = httpx.get(url, follow_redirects=True, timeout=30)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert page.status_code == 200 and "connected to Polar" in page.text
    assert "connected Polar as source 'polar'" in out and "registered with your Polar API client" in out
    assert "last 30 days" in out and "heavylegs import" in out  # no history through the API: the export is pointed to
    token_call = fake.paths("/v2/oauth2/token")[0]
    assert (token_call.status, token_call.auth) == (200, "Basic")
    assert [c.status for c in fake.paths("/v3/users")] == [200]
    [row] = env.json("sources", "--json")
    assert (row["kind"], row["status"], row["activities"], row["polar_user_id"]) == ("polar", "ok", 0, str(fake.user_id))
    assert row["token_expires"] > datetime.now(timezone.utc).date().isoformat()
    with env.engine.connect() as conn:
        secret = conn.execute(select(source_credentials.c.secret_enc)).scalar_one()
    assert all(t.encode() not in secret for t in fake._tokens)
    again = env.connect()  # the same account again: registration answers 409, which is fine
    assert "reconnected" in again and "already registered" in again
    assert [c.status for c in fake.paths("/v3/users")] == [200, 409]


def test_state_mismatch_and_expired_code_exchange_nothing(env: Env, fake: PolarFake) -> None:
    proc, url = env.start_connect()
    forged = httpx.get(f"{fake.redirect_uri}?code=stolen&state=not-this-one", timeout=10)
    out, err = proc.communicate(timeout=30)
    assert forged.status_code == 400 and proc.returncode == 1 and "state mismatch" in err
    assert fake.paths("/v2/oauth2/token") == []  # refused before any code exchange
    proc, url = env.start_connect()
    redirect = httpx.get(url, follow_redirects=False, timeout=10)
    fake.advance(601)  # the user took longer than Polar's 10 minutes
    late = httpx.get(redirect.headers["Location"], timeout=30)
    out, err = proc.communicate(timeout=30)
    assert late.status_code == 400 and proc.returncode == 1 and "code exchange failed" in err
    assert [c.status for c in fake.paths("/v2/oauth2/token")] == [400] and env.json("sources", "--json") == []


def test_sync_downloads_fit_else_tcx_sport_from_the_file_and_links_a_folder_copy(env: Env, fake: PolarFake, tmp_path: Path) -> None:
    fake.add(fenix2(sport="OTHER"))  # Polar's quirk: the list says OTHER, the FIT file says running
    fake.add(run2013())
    fake.add(tcx_only())  # no FIT: the gzipped TCX is used
    fake.add(FakeExercise("gPx78", datetime(2020, 6, 20, 7, tzinfo=timezone.utc), 600, 1000, gpx=GPX.read_bytes()))
    fake.add(FakeExercise("oLd99", datetime(2014, 1, 1, 7, tzinfo=timezone.utc), 600, 1000, fit=FENIX2.read_bytes(), uploaded_days_ago=45))
    folder = tmp_path / "watch"
    folder.mkdir()
    (folder / "2013.fit").write_bytes(RUN2013.read_bytes())
    assert env.cli("import", str(folder)).exit_code == 0
    env.connect()
    first = env.json("sync", "polar", "--json")
    assert (first["new"], first["duplicates"], first["failed"], first["status"]) == (3, 1, 0, "ok"), first
    assert env.refs() == ["aBc12", "gPx78", "tCx56", "xYz34"]  # oLd99 is outside Polar's 30 days
    paths = [c.path for c in fake.calls if c.path.startswith("/v3/exercises/")]
    assert "/v3/exercises/tCx56/fit" in paths and "/v3/exercises/tCx56/tcx" in paths and not any(p.startswith("/v3/exercises/xYz34") for p in paths)
    by_ref = {s["ref"]: a for a in env.json("activities", "--json") for s in a["sources"] if s["kind"] == "polar"}
    assert by_ref["aBc12"]["sport"] == "running"  # from the FIT file, not the list's OTHER
    assert {"file", "polar"} <= {s["kind"] for s in by_ref["xYz34"]["sources"]}  # the folder's run: one activity, both links
    assert env.count(activities) == 4
    again = env.json("sync", "polar", "--json")
    assert (again["new"], again["duplicates"]) == (0, 0) and 429 not in fake.statuses()
    assert len([c for c in fake.calls if c.path.endswith(("/fit", "/tcx", "/gpx")) and c.status == 200]) == 3  # nothing fetched twice
    [row] = env.json("sources", "--json")
    assert row["activities"] == 4 and row["status"] == "ok" and row["last_success"]


def test_rate_limit_headers_are_respected_and_429_waits_for_the_reset(tmp_path: Path, fake: PolarFake) -> None:
    env = Env(tmp_path, fake, reserve_fraction=0.5)
    for i in range(3):
        fake.add(fenix2(f"r{i}", uploaded_days_ago=1) if i == 0 else run2013(f"r{i}") if i == 1 else tcx_only(f"r{i}"))
    env.connect()
    fake.limits, fake.window_s = (6, 20000), (1.0, 86400.0)  # six requests a second; we keep half in reserve
    fake._window_start[0] = 0.0
    report = env.json("sync", "polar", "--json")
    assert (report["new"], report["status"]) == (3, "ok") and 429 not in fake.statuses()
    fake.add(fenix2("r3", uploaded_days_ago=2))
    fake.exercises["r3"].start += timedelta(days=400)
    fake.force_429 = 1
    later = env.json("sync", "polar", "--json")
    assert later["status"] == "ok" and 429 in fake.statuses()  # waited until the window's reset, then listed


def test_consents_403_and_revoked_token_401_set_health_and_one_alert(env: Env, fake: PolarFake) -> None:
    fake.add(fenix2())
    env.connect()
    fake.consents_ok = False
    refused = env.json("sync", "polar", "--json", code=1)
    assert refused["status"] == "error" and "consents" in refused["error"] and "flow.polar.com" in refused["error"]
    fake.consents_ok = True
    assert env.json("sync", "polar", "--json")["new"] == 1
    fake.revoke_all()
    gone = env.json("sync", "polar", "--json", code=1)
    assert gone["status"] == "needs_reauth" and "connect polar --name polar" in gone["error"]
    [row] = env.json("sources", "--json")
    assert row["status"] == "needs_reauth" and row["activities"] == 1
    for _ in range(2):
        env.json("sync", "polar", "--json", code=1)
        assert env.cli("alerts", "check").exit_code == 0
    [alert] = [a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]
    assert "heavylegs connect polar --name polar" in alert["message"]


def test_backfill_explains_the_export_and_disconnect_purges(env: Env, fake: PolarFake, tmp_path: Path) -> None:
    fake.add(fenix2())
    env.connect()
    refused = env.cli("backfill", "--source", "polar", "--json")
    assert refused.exit_code == 1 and "last 30 days" in refused.stderr and "heavylegs import" in refused.stderr
    assert json.loads(refused.stdout)["status"] == "not_supported"
    env.json("sync", "polar", "--json")
    result = env.cli("disconnect", "polar", "--purge")
    assert result.exit_code == 0 and "deleted 1 activities" in result.output
    assert env.count(activities) == 0 and env.count(source_credentials) == 0 and env.count(remote_activities) == 0 and env.count(sources) == 0
    assert fake.paths(f"/v3/users/{fake.user_id}")[-1].status == 204  # de-registered from our client


def test_connect_without_consents_is_refused_and_a_short_lived_token_is_warned_about(env: Env, fake: PolarFake) -> None:
    fake.consents_ok = False
    proc, url = env.start_connect()
    page = httpx.get(url, follow_redirects=True, timeout=30)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and page.status_code == 400 and "consents" in err and "flow.polar.com" in err
    assert env.json("sources", "--json") == []  # nothing stored before Polar accepts the user
    fake.consents_ok = True
    fake.expires_in = 3 * 86400 + 600
    env.connect()
    for _ in range(2):
        assert env.cli("alerts", "check").exit_code == 0
    [alert] = [a for a in env.json("alerts", "--json") if a["rule"] == "source_stalled"]
    assert "expires in 3 days" in alert["message"] and "heavylegs connect polar --name polar" in alert["message"]
