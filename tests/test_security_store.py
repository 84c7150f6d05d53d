"""Issue 13, findings 6 and parts of 13: reads never wait for SQLite's write lock, database
errors carry no query values, and a passphrase secret key is stretched with scrypt and a salt.
"""
from __future__ import annotations

import base64
import hashlib
import json
import stat
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import Settings, load_settings
from heavylegs.sources import crypto
from heavylegs.store.activities import get_or_create_athlete
from heavylegs.store.db import migrate, read, write
from heavylegs.store.tables import athletes, sources
from tests.helpers import run_cli, run_process
from tests.service_support import poll

WRITER_HOLDS_AT_MOST_S = 25.0  # only reached when a read wrongly waits; the assertion then fails


class HeldWrite:
    """Another connection holding a write transaction until the reads are done (or the cap)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.holding = threading.Event()
        self.reads_done = threading.Event()
        self.reads_finished_first: bool | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with write(self.engine) as conn:
            conn.execute(insert(athletes).values(name="uncommitted", created_ts=time.time()))
            self.holding.set()
            self.reads_finished_first = self.reads_done.wait(WRITER_HOLDS_AT_MOST_S)

    def __enter__(self) -> HeldWrite:
        self.thread.start()
        assert self.holding.wait(10), "the writer never got the lock"
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reads_done.set()
        self.thread.join(30)


def _reads_before_commit(engine: Engine, reads: Callable[[], Any]) -> Any:
    with HeldWrite(engine) as held:
        result = reads()
        held.reads_done.set()
    held.thread.join(30)
    assert held.reads_finished_first is True, "a read waited until the writer committed"
    return result


def test_reads_do_not_wait_for_a_held_write_lock(engine: Engine) -> None:
    with write(engine) as conn:
        get_or_create_athlete(conn, "me")

    def reads() -> tuple[list[str], int]:
        with read(engine) as conn:
            names = list(conn.execute(select(athletes.c.name).order_by(athletes.c.name)).scalars())
        return names, migrate(engine)  # every CLI command starts with migrate()

    names, version = _reads_before_commit(engine, reads)
    assert names == ["me"]  # a snapshot: the writer's uncommitted row is not seen
    assert version >= 1
    with read(engine) as conn:
        assert conn.execute(select(func.count()).select_from(athletes)).scalar() == 2  # and it did commit


def test_cli_listing_does_not_wait_for_a_held_write_lock(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    env = {"HEAVYLEGS_DATA_DIR": str(settings.data_dir), "HEAVYLEGS_DB": settings.db_url}
    assert run_cli("activities", "--json", env=env).returncode == 0  # store prepared before the writer starts
    res = _reads_before_commit(engine, lambda: run_process("activities", "--json", env=env, timeout=60))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []


@pytest.fixture
def service_app(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    cfg = settings.with_overrides({"service.folder_scan_interval_s": 3600, "import.workers": 1})
    metrics = PrometheusMetrics(engine)
    service = Scheduler(engine, cfg, observe=metrics.observe)
    service.start()
    client = TestClient(build_app(engine, cfg, service, metrics), base_url="http://127.0.0.1")
    try:
        # Let the first runs of the jobs finish, so only the health check reads meanwhile.
        poll(lambda: all(s.runs >= 1 for s in service.job_runner.stats.values()) and service.job_runner.stats, 20, what="first job runs")
        yield client
    finally:
        service.stop(20)


def test_healthz_answers_while_a_long_write_holds_the_lock(engine: Engine, service_app: TestClient) -> None:
    res = _reads_before_commit(engine, lambda: service_app.get("/healthz"))
    assert res.status_code == 200 and res.json()["status"] == "ok"


def test_database_errors_do_not_carry_query_values(engine: Engine) -> None:
    secret = "s3cr3t-refresh-token-value"
    with write(engine) as conn:
        athlete_id = get_or_create_athlete(conn, "me")
        conn.execute(insert(sources).values(athlete_id=athlete_id, name="watch", kind="folder", config_json="{}", created_ts=0.0))
    with pytest.raises(IntegrityError) as caught:
        with write(engine) as conn:
            conn.execute(insert(sources).values(athlete_id=athlete_id, name="watch", kind="folder",
                                                config_json=json.dumps({"token": secret}), created_ts=0.0))
    logged = "".join(traceback.format_exception(caught.value))  # what log.exception would write
    assert "INSERT INTO sources" in logged  # still says what failed
    assert secret not in logged and "parameters hidden" in logged


# -- HEAVYLEGS_SECRET_KEY as a passphrase -------------------------------------------------

PASSPHRASE = "correct horse battery staple"


def _secret_settings(tmp_path: Path, key: str = PASSPHRASE) -> Settings:
    return load_settings(data_dir=tmp_path / "data", db=f"sqlite:///{tmp_path / 'x.db'}", environ={"HEAVYLEGS_SECRET_KEY": key})


def _scrypt_key(passphrase: str, salt: bytes) -> bytes:
    """An independent reference: the standard library's scrypt with the documented cost."""
    return base64.urlsafe_b64encode(hashlib.scrypt(passphrase.encode(), salt=salt, n=2**15, r=8, p=1, maxmem=64 * 2**20, dklen=32))


def test_a_passphrase_is_stretched_with_scrypt_and_a_private_salt(tmp_path: Path) -> None:
    settings = _secret_settings(tmp_path)
    token = crypto.encrypt(settings.store_key, b"refresh-token")
    salt_file = settings.data_dir / "secret.salt"
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    salt = base64.b64decode(salt_file.read_bytes().strip())
    assert len(salt) == 16
    assert Fernet(_scrypt_key(PASSPHRASE, salt)).decrypt(token) == b"refresh-token"
    with pytest.raises(InvalidToken):  # the old one-round SHA-256 key no longer opens new data
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(PASSPHRASE.encode()).digest())).decrypt(token)
    # Another store has another salt: the same passphrase gives another key.
    other = _secret_settings(tmp_path / "other")
    assert crypto.decrypt(other.store_key, crypto.encrypt(other.store_key, b"x")) == b"x"
    assert (other.data_dir / "secret.salt").read_bytes() != salt_file.read_bytes()
    with pytest.raises(crypto.SecretKeyError):
        crypto.decrypt(other.store_key, token)


def test_credentials_stored_under_the_old_derivation_stay_readable_and_are_rewritten(tmp_path: Path) -> None:
    settings = _secret_settings(tmp_path)
    old_token = Fernet(base64.urlsafe_b64encode(hashlib.sha256(PASSPHRASE.encode()).digest())).encrypt(b"old-refresh-token")
    assert crypto.decrypt(settings.store_key, old_token) == b"old-refresh-token"
    rewritten = crypto.encrypt(settings.store_key, crypto.decrypt(settings.store_key, old_token))  # what the next store does
    salt = base64.b64decode((settings.data_dir / "secret.salt").read_bytes())
    assert Fernet(_scrypt_key(PASSPHRASE, salt)).decrypt(rewritten) == b"old-refresh-token"
    with pytest.raises(crypto.SecretKeyError):  # a wrong passphrase still opens nothing
        crypto.decrypt(_secret_settings(tmp_path, "wrong passphrase").store_key, old_token)


def test_a_fernet_key_is_used_as_it_is_and_a_damaged_salt_is_named(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = _secret_settings(tmp_path, key)
    assert Fernet(key.encode()).decrypt(crypto.encrypt(settings.store_key, b"t")) == b"t"
    assert not (settings.data_dir / "secret.salt").exists()
    broken = _secret_settings(tmp_path / "broken")
    broken.data_dir.mkdir(parents=True)
    (broken.data_dir / "secret.salt").write_text("not base64!\n")
    with pytest.raises(crypto.SecretKeyError, match="secret.salt is damaged"):
        crypto.encrypt(broken.store_key, b"t")
