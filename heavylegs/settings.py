"""The one place that reads the environment and the config files.

Precedence, lowest first: ``config/default.toml``, the user's TOML file
(``--config`` or ``HEAVYLEGS_CONFIG``), then environment variables, then CLI
options. The merged result is validated once, at start, into the typed, frozen
``ConfigFile`` (``heavylegs.settings_schema``): an unknown key or a bad value is
a ``ConfigError`` naming its key path. Everything else in heavylegs receives a
``Settings`` and reads its own section from ``settings.cfg``.

``get("a.b")``, ``section()`` and ``athlete()`` are kept for code not yet moved
to ``settings.cfg``; they read the same validated data as the dict it was
written as (so stored settings hashes do not change).
"""
from __future__ import annotations

import copy
import functools
import logging
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import platformdirs
from pydantic import ValidationError

from config import DEFAULT_TOML
from heavylegs.settings_errors import ConfigError, describe_errors
from heavylegs.settings_schema import CHANNEL_KINDS, RENAMED_KEYS, ConfigFile
from heavylegs.settings_views import Athletes, Secrets, StoreKey

__all__ = ["ConfigError", "Settings", "load_settings", "apply_renames"]

ENV_DATA_DIR = "HEAVYLEGS_DATA_DIR"
ENV_DB = "HEAVYLEGS_DB"
ENV_CONFIG = "HEAVYLEGS_CONFIG"
ENV_SECRET_KEY = "HEAVYLEGS_SECRET_KEY"

log = logging.getLogger(__name__)


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


def _deprecated(old: str, new: str, where: str) -> None:
    message = f"{where}: config key {old} is deprecated, use {new}"
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    log.warning("%s", message)


def apply_renames(raw: dict[str, Any], where: str, renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """``raw`` (one layer: a user file) with renamed keys moved to their new path, warning for each.

    Applied per layer, before merging, so a user's old key still beats the
    default of the new one. When a file sets both, the new name wins.
    """
    out = copy.deepcopy(raw)
    for old, new in (RENAMED_KEYS if renamed is None else renamed).items():
        *old_head, old_last = old.split(".")
        node: Any = out
        for part in old_head:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or old_last not in node:
            continue
        value = node.pop(old_last)
        _deprecated(old, new, where)
        *new_head, new_last = new.split(".")
        target = out
        for part in new_head:
            target = target.setdefault(part, {})
        target.setdefault(new_last, value)
    return out


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *head, last = dotted.split(".")
    for part in head:
        node = node.setdefault(part, {})
    node[last] = value


@functools.cache
def _undeclared_defaults() -> tuple[tuple[str, ...], ...]:
    """Keys of default.toml that have no field yet (a developer's slip, which tests/test_config_files.py
    catches): they are dropped with a warning rather than refusing every start."""
    try:
        ConfigFile.model_validate(_read_toml(DEFAULT_TOML))
    except ValidationError as exc:
        paths = tuple(tuple(str(p) for p in e["loc"]) for e in exc.errors() if e["type"] == "extra_forbidden")
        for path in paths:
            log.warning("config/default.toml key %s has no field in heavylegs/settings_schema*.py", ".".join(path))
        return paths
    return ()


def _without(data: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for *head, last in paths:
        node: Any = out
        for part in head:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def validate(data: dict[str, Any], where: str = "") -> ConfigFile:
    """The merged TOML as a ``ConfigFile``; a ConfigError naming every bad key path otherwise."""
    undeclared = _undeclared_defaults()
    try:
        return ConfigFile.model_validate(_without(data, undeclared) if undeclared else data)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, where, ConfigFile, frozenset(CHANNEL_KINDS))) from None


@dataclass
class Settings:
    """Validated configuration (``cfg``, typed) plus the resolved data directory and database URL."""

    data: dict[str, Any]
    data_dir: Path
    db_url: str
    config_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)
    cfg: ConfigFile = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.cfg = validate(self.data, str(self.config_path or ""))

    # ---- the views components take (heavylegs.settings_views) ---------------
    @functools.cached_property
    def athletes(self) -> Athletes:
        return Athletes(self.cfg.athlete, self.cfg.athletes, self.cfg.import_.default_timezone)

    @functools.cached_property
    def secrets(self) -> Secrets:
        return Secrets(self.env)

    @property
    def store_key(self) -> StoreKey:
        return StoreKey(self.data_dir, self.secret_key)

    # Shorthands of the views, for the wiring code (CLI, service) that holds a Settings.
    def import_zone(self, name: str) -> str:
        return self.athletes.zone_name(name)

    def athlete_zone(self, name: str) -> ZoneInfo:
        return self.athletes.zone(name)

    def athlete_today(self, name: str, now: datetime | None = None) -> date:
        return self.athletes.today(name, now)

    @property
    def default_athlete(self) -> str:
        return self.cfg.athlete.default

    @property
    def secret_key(self) -> str | None:
        return self.env.get(ENV_SECRET_KEY) or None

    def with_overrides(self, dotted: dict[str, Any]) -> Settings:
        """A copy with ``{"a.b": value}`` set (renamed keys accepted), validated again."""
        data = copy.deepcopy(self.data)
        for key, value in dotted.items():
            new = RENAMED_KEYS.get(key)
            if new is not None:
                _deprecated(key, new, "override")
            _set_dotted(data, new or key, value)
        return Settings(data, self.data_dir, self.db_url, self.config_path, self.env)

    # ---- compatibility: the untyped views, for code not yet on ``cfg`` -------
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
        """``[athlete]`` defaults overridden by ``[athletes.<name>]``, as a dict."""
        return _merge(self.section("athlete"), self.section(f"athletes.{name}"))


def load_settings(
    config: str | Path | None = None,
    data_dir: str | Path | None = None,
    db: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments beat the environment, which beats files.

    Raises ConfigError (naming the key path) for a missing or invalid file, an
    unknown key or a bad value.
    """
    env = dict(os.environ if environ is None else environ)
    data = _read_toml(DEFAULT_TOML)
    cfg_path = config or env.get(ENV_CONFIG) or None
    path = Path(cfg_path).expanduser() if cfg_path else None
    if path is not None:
        data = _merge(data, apply_renames(_read_toml(path), str(path)))
    storage = validate(data, str(path or "")).storage  # bad values fail here, before they are used
    ddir = data_dir or env.get(ENV_DATA_DIR) or storage.data_dir or platformdirs.user_data_dir("heavylegs")
    ddir_path = Path(ddir).expanduser().resolve()
    url = db or env.get(ENV_DB) or storage.db or f"sqlite:///{ddir_path / 'heavylegs.db'}"
    return Settings(data=data, data_dir=ddir_path, db_url=url, config_path=path, env=env)
