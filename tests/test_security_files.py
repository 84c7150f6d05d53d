"""Issue 13, findings 2 (start), 3 (CLI), 11, 12 and 13 (report --out): files on disk and the start rules.

Under the default umask 022 the review found a 0755 data dir and 0644 store,
-wal/-shm, report.html and lock file; the service lock bypassed through a
symlink to the database; ``report --out`` writing a predictable ``.tmp`` that
follows symlinks; ``heavylegs report`` crashing on a ``$`` in a run name; and
the service answering on 0.0.0.0 with no login.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from heavylegs.cli import main
from heavylegs.metrics.recompute import recompute_athlete
from heavylegs.service.auth import Auth, check_exposure, is_loopback
from heavylegs.service.envs import analysis_env
from heavylegs.service.lock import AlreadyRunning, ServiceLock
from heavylegs.settings import ConfigError, load_settings
from heavylegs.store.db import make_engine, migrate
from tests.helpers import FIXTURES, run_process
from tests.metrics_synth import activity, athlete_id, run, store, streams_for

FENIX = FIXTURES / "python-fitparse" / "activity-small-fenix2-run.fit"
DOLLAR_NAME = r"Long run $\frac{1}{$"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The default umask of most systems, whatever the test runner was started with."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ---- finding 11: permissions ------------------------------------------------------------------
def test_data_dir_store_wal_shm_report_and_lock_are_private(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    _cli("--data-dir", str(data), "import", str(FENIX))
    db = data / "heavylegs.db"
    assert _mode(data) == 0o700 and _mode(db) == 0o600
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:  # a write: SQLite creates -wal and -shm now, with the database's mode
            conn.execute(text("UPDATE activities SET name = name"))
        assert _mode(Path(f"{db}-wal")) == 0o600 and _mode(Path(f"{db}-shm")) == 0o600
        lock = ServiceLock(engine).acquire()
        try:
            assert _mode(Path(f"{db}.lock")) == 0o600
        finally:
            lock.release()
    finally:
        engine.dispose()
    _cli("--data-dir", str(data), "report")
    assert _mode(data / "report.html") == 0o600


def test_a_store_left_readable_by_an_older_version_is_tightened(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "heavylegs.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    os.chmod(db, 0o644)
    _cli("--data-dir", str(data), "activities", "--json")
    assert _mode(db) == 0o600


# ---- finding 12: the lock holds through a symlink --------------------------------------------
def test_the_service_lock_cannot_be_bypassed_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real" / "heavylegs.db"
    real.parent.mkdir()
    first = make_engine(f"sqlite:///{real}")
    migrate(first)
    link = tmp_path / "elsewhere.db"
    link.symlink_to(real)
    second = make_engine(f"sqlite:///{link}")
    lock = ServiceLock(first).acquire()
    try:
        with pytest.raises(AlreadyRunning):
            ServiceLock(second).acquire()
        # Another spelling of the same path leads to the same lock too.
        with pytest.raises(AlreadyRunning):
            ServiceLock(make_engine(f"sqlite:///{tmp_path}/real/../real/heavylegs.db")).acquire()
    finally:
        lock.release()
        first.dispose()
        second.dispose()
    again = ServiceLock(make_engine(f"sqlite:///{link}")).acquire()  # released: the symlinked path may take it
    again.release()


# ---- findings 3 and 13: heavylegs report with a "$" name, and --out safely ----------------------
@pytest.fixture
def dollar_store(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    settings = load_settings(data_dir=data, environ={})
    engine = make_engine(settings.db_url)
    migrate(engine)
    today = settings.athlete_today("me")
    acts = [run(today - timedelta(days=d), 45, hr=148) for d in range(30, 1, -3)]
    acts.append(activity(today - timedelta(days=1), streams_for([(3.1, 3600), (2.8, 900)], hr=155.0), name=DOLLAR_NAME))
    store(engine, acts)
    recompute_athlete(engine, analysis_env(settings), athlete_id(engine, "me"), today)
    engine.dispose()
    return data


def test_report_renders_a_run_named_with_matplotlib_math(dollar_store: Path) -> None:
    out = Path(_cli("--data-dir", str(dollar_store), "report").strip())
    page = out.read_text()
    assert "Latest long run" in page and page.count("data:image/png;base64,") >= 3


def test_report_out_does_not_follow_a_planted_symlink(dollar_store: Path, tmp_path: Path, umask_022: None) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target_dir = tmp_path / "site"
    target_dir.mkdir()
    # The old predictable temp name, planted by another local user.
    (target_dir / "legs.html.tmp").symlink_to(victim)
    out = target_dir / "legs.html"
    _cli("--data-dir", str(dollar_store), "report", "--out", str(out))
    assert victim.read_text() == "precious"
    assert out.is_file() and not out.is_symlink() and _mode(out) == 0o600
    assert "<h1>heavylegs: me</h1>" in out.read_text()
    assert sorted(p.name for p in target_dir.iterdir()) == ["legs.html", "legs.html.tmp"]  # no temp file left behind
    # A symlink at the target itself is replaced, not written through.
    out.unlink()
    out.symlink_to(victim)
    _cli("--data-dir", str(dollar_store), "report", "--out", str(out))
    assert victim.read_text() == "precious" and not out.is_symlink()


# ---- finding 2: no login, no listening beyond loopback ------------------------------------------
@pytest.mark.parametrize("args,config,message", [
    (["--host", "0.0.0.0"], "", "refusing to listen on 0.0.0.0"),
    (["--host", "::"], "", "refusing to listen on ::"),
    ([], "[service]\nbehind_proxy = true\n", "behind_proxy"),
    ([], '[service.auth]\ntoken = "short"\n', "at least 16 characters"),
])
def test_run_refuses_to_expose_the_service_without_a_login(tmp_path: Path, args: list[str], config: str, message: str) -> None:
    cfg = tmp_path / "heavylegs.toml"
    cfg.write_text(config)
    result = run_process("--data-dir", str(tmp_path / "data"), "--config", str(cfg), "run", "--port", "0", *args, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_exposure_rules(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={})
    with_token = settings.with_overrides({"service.auth.token": "x" * 32})
    for host in ("127.0.0.1", "127.0.0.53", "::1", "localhost"):
        assert is_loopback(host)
        check_exposure(settings.cfg.service, host, Auth.from_config(settings.cfg.service.auth, settings.secrets))  # ./dev run: no setup on loopback
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError):
            check_exposure(settings.cfg.service, host, Auth.from_config(settings.cfg.service.auth, settings.secrets))
        check_exposure(with_token.cfg.service, host, Auth.from_config(with_token.cfg.service.auth, with_token.secrets))  # with a login it may


def test_auth_cli_makes_a_hash_that_logs_in_and_a_strong_token(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["auth", "hash-password", "--stdin"], input="a long passphrase\n")
    assert made.exit_code == 0 and made.output.startswith("scrypt$")
    token = runner.invoke(main, ["auth", "new-token"]).output.strip()
    assert len(token) >= 40
    settings = load_settings(data_dir=tmp_path, environ={"LEGS_HASH": made.output.strip()}).with_overrides(
        {"service.auth.password_hash_env": "LEGS_HASH", "service.auth.token": token})
    auth = Auth.from_config(settings.cfg.service.auth, settings.secrets)
    assert auth.check_login("a long passphrase") and auth.check_login(token)
    assert not auth.check_login("a long passphrasE") and not auth.check_login("")
    assert runner.invoke(main, ["auth", "hash-password", "--stdin"], input="short\n").exit_code == 2
