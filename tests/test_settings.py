from __future__ import annotations

from pathlib import Path

import pytest

from heavylegs.settings import ConfigError, load_settings


def test_defaults_put_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path, environ={})
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'heavylegs.db'}"
    assert s.get("service.port") == 8080


def test_env_then_file_then_args(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[service]\nport = 9999\n[athletes.alice]\nsex = "female"\n')
    env = {"HEAVYLEGS_CONFIG": str(cfg), "HEAVYLEGS_DB": "sqlite:///x.db", "HEAVYLEGS_DATA_DIR": str(tmp_path / "d")}
    s = load_settings(environ=env)
    assert s.get("service.port") == 9999
    assert s.db_url == "sqlite:///x.db"
    assert s.data_dir == (tmp_path / "d").resolve()
    assert s.athlete("alice")["sex"] == "female"
    assert s.athlete("bob")["sex"] == "male"
    assert load_settings(db="sqlite:///y.db", environ=env).db_url == "sqlite:///y.db"


def test_secret_from_file_and_env(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    s = load_settings(data_dir=tmp_path, environ={"SMTP_PW": "fromenv"})
    assert s.secret({"password_file": str(tmp_path / "pw")}, "password") == "s3cret"
    assert s.secret({"password_env": "SMTP_PW"}, "password") == "fromenv"


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[service\nport=")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config=cfg, environ={})
