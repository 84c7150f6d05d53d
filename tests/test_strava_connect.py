"""``heavylegs connect strava`` end to end: a real CLI process, the fake's authorize page, the loopback callback."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from heavylegs.settings import load_settings
from heavylegs.store.db import make_engine
from heavylegs.store.tables import athletes, sources
from heavylegs.strava.tables import strava_tokens
from heavylegs.strava.tokens import load_tokens
from tests.helpers import run_cli
from tests.strava_fake import StravaFake, config_toml

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[StravaFake]:
    server = StravaFake().start()
    yield server
    server.stop()


class Connect:
    """``connect strava --no-browser`` running in the background, with its printed URL."""

    def __init__(self, tmp_path: Path, fake: StravaFake) -> None:
        self.port = _free_port()
        self.db = f"sqlite:///{tmp_path / 'hl.db'}"
        self.data = tmp_path / "data"
        self.cfg = cfg = config_toml(tmp_path / "cfg.toml", fake, callback_port=self.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEAVYLEGS_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "heavylegs", "--data-dir", str(self.data), "--db", self.db, "--config", str(cfg),
             "connect", "strava", "--no-browser", "--athlete", "alice", "--timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        assert self.proc.stdout is not None
        self.url = ""
        for line in self.proc.stdout:
            if line.startswith(fake.oauth_url):
                self.url = line.strip()
                break
        assert self.url, self.proc.stderr.read() if self.proc.stderr else ""

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


def test_connect_stores_encrypted_tokens_and_the_source(tmp_path: Path, fake: StravaFake) -> None:
    flow = Connect(tmp_path, fake)
    query = {k: v[0] for k, v in parse_qs(urlsplit(flow.url).query).items()}
    assert urlsplit(flow.url).path == "/oauth/authorize"
    assert query["client_id"] == fake.client_id and query["response_type"] == "code" and query["approval_prompt"] == "auto"
    assert query["redirect_uri"] == f"http://127.0.0.1:{flow.port}/oauth/strava/callback"
    assert query["scope"] == "read,activity:read_all" and len(query["state"]) >= 16
    page = httpx.get(flow.url, follow_redirects=True, timeout=10)  # what the browser does after "Authorize"
    code, out, err = flow.finish()
    assert code == 0, err
    assert page.status_code == 200 and "connected" in page.text
    assert "connected Strava athlete Fake Runner as source 'strava' for athlete 'alice'" in out
    assert len(fake.requests_to("^/oauth/token$", "POST")) == 1
    engine = make_engine(flow.db)
    settings = load_settings(data_dir=flow.data, db=flow.db, environ={})
    with engine.connect() as conn:
        src = conn.execute(select(sources, athletes.c.name.label("athlete")).join(athletes, athletes.c.id == sources.c.athlete_id)).one()
        assert (src.name, src.kind, src.athlete, src.status) == ("strava", "strava", "alice", "ok")
        raw = conn.execute(select(strava_tokens)).one()
        tokens = load_tokens(conn, settings.store_key, int(src.id))
    assert tokens is not None and tokens.access_token in fake.access and tokens.refresh_token in fake.refresh
    assert tokens.strava_athlete_id == fake.athlete_id and tokens.scope == "read,activity:read_all"
    assert tokens.access_token.encode() not in raw.tokens_enc and tokens.refresh_token.encode() not in raw.tokens_enc
    key = flow.data / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    engine.dispose()
    shown = run_cli("--data-dir", str(flow.data), "--db", flow.db, "--config", str(flow.cfg), "strava", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert [(s["name"], s["athlete"], s["status"], s["scope"]) for s in info["sources"]] == [("strava", "alice", "ok", "read,activity:read_all")]
    assert info["subscription"] is None


def test_state_mismatch_aborts_without_exchanging_the_code(tmp_path: Path, fake: StravaFake) -> None:
    flow = Connect(tmp_path, fake)
    forged = httpx.get(f"http://127.0.0.1:{flow.port}/oauth/strava/callback",
                       params={"state": "not-the-state", "code": "stolen", "scope": "read,activity:read_all"}, timeout=10)
    code, _, err = flow.finish()
    assert forged.status_code == 400 and code == 1
    assert "state mismatch" in err
    assert fake.requests_to("^/oauth/token$", "POST") == []
    with make_engine(flow.db).connect() as conn:
        assert conn.execute(select(sources)).first() is None


def test_missing_activity_scope_is_explained(tmp_path: Path, fake: StravaFake) -> None:
    fake.granted_scope = "read"  # the user unticked "View data about your activities"
    flow = Connect(tmp_path, fake)
    page = httpx.get(flow.url, follow_redirects=True, timeout=10)
    code, _, err = flow.finish()
    assert code == 1 and page.status_code == 400
    assert "activity:read" in err and "granted: read" in err
    assert fake.requests_to("^/oauth/token$", "POST") == []
