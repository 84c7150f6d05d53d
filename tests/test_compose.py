"""docker-compose.yml, Dockerfile and .env.example agree with each other (Docker cannot run here)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from heavylegs.cli import main
from heavylegs.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
# ${VAR}, ${VAR:-default}, ${VAR:?error}; "$${...}" is an escaped dollar, left to the container's shell.
VAR = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")]
    return {k.strip(): v.strip() for k, v in pairs}


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} with the given environment."""
    def one(m: re.Match[str]) -> str:
        value = env.get(m.group(1))
        if value:
            return value
        assert m.group(2) is None or "-" in m.group(2), f"{m.group(1)} is required: {m.group(3)}"
        return m.group(3) or ""

    return VAR.sub(one, text).replace("$$", "$")


def _host_ports(service: dict[str, Any], env: dict[str, str]) -> dict[int, int]:
    out = {}
    for spec in service.get("ports", []):
        parts = _interpolate(str(spec), env).split(":")
        out[int(parts[-1])] = int(parts[-2])
    return out


def test_services_and_wiring() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"heavylegs", "postgres", "mailpit"}
    app, pg, mail = services["heavylegs"], services["postgres"], services["mailpit"]

    assert app["build"] == "." and app["command"][:4] == ["heavylegs", "run", "--inbox", "/inbox"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = _env_example()
    assert _host_ports(app, env) == {8080: 8080}
    mounts = [_interpolate(v, env) for v in app["volumes"]]
    assert "./inbox:/inbox:ro" in mounts  # read-only: the service never changes the user's files
    assert "heavylegs-data:/data" in mounts

    # Images are pinned to versions (a rebuild months later gets the same database and mail catcher).
    assert re.fullmatch(r"postgres:16\.\d+", pg["image"])
    assert "pgdata:/var/lib/postgresql/data" in pg["volumes"]
    assert set(compose["volumes"]) == {"pgdata", "heavylegs-data"}
    test = " ".join(pg["healthcheck"]["test"])
    assert "pg_isready" in test and pg["healthcheck"]["retries"] >= 3

    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", mail["image"])
    assert _host_ports(mail, env) == {8025: 8025, 1025: 1025}


def test_database_url_points_at_the_postgres_service() -> None:
    compose, env = _compose(), _env_example()
    app, pg = compose["services"]["heavylegs"], compose["services"]["postgres"]
    url = make_url(_interpolate(app["environment"]["HEAVYLEGS_DB"], env))
    pg_env = {k: _interpolate(v, env) for k, v in pg["environment"].items()}
    assert url.drivername == "postgresql+psycopg" and url.host == "postgres" and url.port == 5432
    assert (url.username, url.password, url.database) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"])
    assert url.password == env["POSTGRES_PASSWORD"]


def test_every_variable_without_a_default_is_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    env = _env_example()
    for match in VAR.finditer(text):
        assert match.group(1) in env, f"{match.group(1)} is used by docker-compose.yml but missing from .env.example"


def test_embedded_config_sends_mail_to_mailpit(tmp_path: Path) -> None:
    compose, env = _compose(), _env_example()
    target = compose["services"]["heavylegs"]["configs"][0]
    assert target["target"] == compose["services"]["heavylegs"]["environment"]["HEAVYLEGS_CONFIG"]
    content = _interpolate(compose["configs"][target["source"]]["content"], env)
    cfg_file = tmp_path / "heavylegs.toml"
    cfg_file.write_text(content)
    settings = load_settings(config=cfg_file, data_dir=tmp_path, environ={})  # the real loader accepts it
    assert settings.get("smtp.host") == "mailpit" and int(settings.get("smtp.port")) == 1025
    channel = tomllib.loads(content)["alerts"]["channels"][0]
    assert channel["kind"] == "email" and channel["to"] == env["ALERT_EMAIL"]


def test_dockerfile_runs_the_service_on_the_inbox() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.M)  # a pinned patch release
    # Dependencies only from the lock file, each checked against its hash; then heavylegs without resolving again.
    assert re.search(r"^RUN pip install --require-hashes --no-deps -r requirements\.lock$", text, re.M)
    assert re.search(r"^RUN pip install --no-deps --no-build-isolation \. ", text, re.M)
    assert text.index("requirements.lock") < text.index("--no-build-isolation")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd is not None and yaml.safe_load(cmd.group(1))[:4] == ["heavylegs", "run", "--inbox", "/inbox"]
    assert "/healthz" in text and "EXPOSE 8080" in text
    # Everything the package needs is copied into the build.
    for package in ("heavylegs", "ingest", "analysis", "config"):
        assert re.search(rf"^COPY {package} ", text, re.M), package
    # The options the image passes exist on the real command.
    run_params = {p.name for p in main.commands["run"].params}
    assert {"inbox", "host", "port"} <= run_params


def test_the_lock_file_pins_every_dependency_with_hashes_past_known_advisories() -> None:
    text = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", text, re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if "==" in b), "every pin carries its hashes"
    # Everything the project needs is pinned, and the build backend too (installed with --no-build-isolation).
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ;!~]", d, maxsplit=1)[0].lower().replace("_", "-") for d in declared}
    for name in names | {"setuptools", "wheel"}:
        assert any(k.lower().replace("_", "-") == name for k in pins), f"{name} is in pyproject.toml but not in requirements.lock"

    def version(name: str) -> tuple[int, ...]:
        raw = next(v for k, v in pins.items() if k.lower() == name)
        return tuple(int(x) for x in re.findall(r"\d+", raw)[:3])

    assert version("starlette") >= (0, 40, 0)  # CVE-2024-47874
    assert version("h11") >= (0, 16, 0)  # CVE-2025-43859
    assert version("cryptography") >= (44, 0, 1)


def test_compose_asks_for_a_login_token_and_the_service_then_may_listen_on_all_interfaces(tmp_path: Path) -> None:
    from heavylegs.service.auth import Auth, check_exposure
    from heavylegs.settings import ConfigError

    compose, env = _compose(), _env_example()
    app = compose["services"]["heavylegs"]
    token_spec = app["environment"]["HEAVYLEGS_LOGIN_TOKEN"]
    assert env["HEAVYLEGS_LOGIN_TOKEN"] == ""  # no shared default secret: compose stops until one is set
    with pytest.raises(AssertionError, match="HEAVYLEGS_LOGIN_TOKEN is required"):
        _interpolate(token_spec, env)
    target = app["configs"][0]
    cfg_file = tmp_path / "heavylegs.toml"
    cfg_file.write_text(_interpolate(compose["configs"][target["source"]]["content"], env))
    token = "generated-token-0123456789abcdef"
    settings = load_settings(config=cfg_file, data_dir=tmp_path, environ={"HEAVYLEGS_LOGIN_TOKEN": _interpolate(token_spec, {"HEAVYLEGS_LOGIN_TOKEN": token})})
    auth = Auth.from_config(settings.cfg.service.auth, settings.secrets)
    assert auth.enabled and auth.check_token(token)
    check_exposure(settings.cfg.service, "0.0.0.0", auth)  # what the image's CMD does
    without = load_settings(config=cfg_file, data_dir=tmp_path, environ={})
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0"):
        check_exposure(without.cfg.service, "0.0.0.0", Auth.from_config(without.cfg.service.auth, without.secrets))
