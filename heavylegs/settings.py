"""The one place that reads the environment and the config files.

Precedence, lowest first: ``config/default.toml``, the user's TOML file
(``--config`` or ``HEAVYLEGS_CONFIG``), then environment variables and CLI
options. Everything else in heavylegs receives a ``Settings`` object.
"""
from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from config import DEFAULT_TOML

ENV_DATA_DIR = "HEAVYLEGS_DATA_DIR"
ENV_DB = "HEAVYLEGS_DB"
ENV_CONFIG = "HEAVYLEGS_CONFIG"
ENV_SECRET_KEY = "HEAVYLEGS_SECRET_KEY"


class ConfigError(Exception):
    pass


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


@dataclass
class Settings:
    """Merged configuration plus the resolved data directory and database URL."""

    data: dict[str, Any]
    data_dir: Path
    db_url: str
    config_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, dotted: str) -> dict[str, Any]:
        value = self.get(dotted, {})
        return value if isinstance(value, dict) else {}

    def athlete(self, name: str) -> dict[str, Any]:
        """``[athlete]`` defaults overridden by ``[athletes.<name>]``."""
        return _merge(self.section("athlete"), self.section(f"athletes.{name}"))

    def athlete_zone(self, name: str) -> ZoneInfo:
        """The athlete's time zone (``timezone`` of ``[athletes.<name>]``, else ``[athlete]``, else UTC)."""
        tz_name = str(self.athlete(name).get("timezone") or "UTC")
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"athlete {name}: unknown timezone {tz_name!r}") from exc

    @property
    def default_athlete(self) -> str:
        return str(self.get("athlete.default", "me"))

    def secret(self, section: dict[str, Any], key: str) -> str:
        """A secret from ``key``, ``key_file`` or ``key_env`` (an env var name) of a config table."""
        direct = section.get(key)
        if direct:
            return str(direct)
        path = section.get(f"{key}_file")
        if path:
            try:
                return Path(path).expanduser().read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read {key}_file {path}: {exc.strerror}") from exc
        var = section.get(f"{key}_env")
        if var:
            return self.env.get(str(var), "")
        return ""

    @property
    def secret_key(self) -> str | None:
        return self.env.get(ENV_SECRET_KEY) or None

    def with_overrides(self, dotted: dict[str, Any]) -> "Settings":
        data = copy.deepcopy(self.data)
        for key, value in dotted.items():
            node = data
            *head, last = key.split(".")
            for part in head:
                node = node.setdefault(part, {})
            node[last] = value
        return Settings(data, self.data_dir, self.db_url, self.config_path, self.env)


def load_settings(
    config: str | Path | None = None,
    data_dir: str | Path | None = None,
    db: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments beat the environment, which beats files."""
    env = dict(os.environ if environ is None else environ)
    data = _read_toml(DEFAULT_TOML)
    cfg_path = config or env.get(ENV_CONFIG) or None
    path = Path(cfg_path).expanduser() if cfg_path else None
    if path is not None:
        data = _merge(data, _read_toml(path))
    ddir = data_dir or env.get(ENV_DATA_DIR) or data["storage"].get("data_dir") or platformdirs.user_data_dir("heavylegs")
    ddir_path = Path(ddir).expanduser().resolve()
    url = db or env.get(ENV_DB) or data["storage"].get("db") or f"sqlite:///{ddir_path / 'heavylegs.db'}"
    return Settings(data=data, data_dir=ddir_path, db_url=url, config_path=path, env=env)
