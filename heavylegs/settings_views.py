"""Small typed views of the settings that components take instead of the whole ``Settings``.

A component receives the section it reads (``settings.cfg.smtp``, ``settings.cfg.import_``...) and,
where it needs them, one of these:

- ``Athletes``: every athlete's merged ``[athlete]``/``[athletes.<name>]`` table, their time zone
  and their local "today", the one rule for all of them;
- ``Secrets``: reads a secret from ``key``, ``key_file`` or ``key_env`` of a table;
- ``StoreKey``: what encrypts stored account tokens (the data directory and the passphrase).

``Settings`` builds them once (``settings.athletes``, ``settings.secrets``, ``settings.store_key``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema import AthleteOverride, AthleteSection

__all__ = ["Athletes", "Secrets", "StoreKey"]


@dataclass(frozen=True)
class Athletes:
    """``[athlete]``, ``[athletes.<name>]`` and ``import.default_timezone``: who the athletes are and when their day is."""

    base: AthleteSection
    overrides: Mapping[str, AthleteOverride] = field(default_factory=dict)
    default_timezone: str = "UTC"

    @property
    def default(self) -> str:
        """The athlete commands use without ``--athlete``."""
        return self.base.default

    def cfg(self, name: str) -> AthleteSection:
        """``[athlete]`` with ``[athletes.<name>]`` applied, typed."""
        over = self.overrides.get(name)
        if over is None:
            return self.base
        return self.base.model_copy(update=over.model_dump(exclude_none=True))

    def zone_name(self, name: str) -> str:
        """The athlete's time zone name: theirs, else ``[athlete]``'s, else ``import.default_timezone``.

        The importer and ``rebuild`` give it to files with no UTC offset and no GPS; ``zone`` and
        ``today`` use it for the athlete's local date, quiet hours and the digest.
        """
        return self.cfg(name).timezone or self.default_timezone

    def zone(self, name: str) -> ZoneInfo:
        """The athlete's time zone (see ``zone_name``); names were checked at load."""
        return ZoneInfo(self.zone_name(name))

    def today(self, name: str, now: datetime | None = None) -> date:
        """The athlete's current local date: ``now`` (aware; default the clock) in their zone."""
        zone = self.zone(name)
        return (now or datetime.now(zone)).astimezone(zone).date()

    def zones(self) -> list[str]:
        """Every athlete's zone name, the default athlete's first, without repeats."""
        out = [self.zone_name(self.default)]
        for name in sorted(self.overrides):
            if self.zone_name(name) not in out:
                out.append(self.zone_name(name))
        return out


@dataclass(frozen=True)
class Secrets:
    """Reads secrets given directly, by file (``<key>_file``) or by environment variable name (``<key>_env``).

    ``env`` is the environment that ``load_settings`` captured, so tests pass their own.
    """

    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def read(self, table: Mapping[str, Any] | BaseModel, key: str) -> str:
        """The secret ``key`` of a config table or typed section; "" when none is configured."""
        if isinstance(table, BaseModel):
            table = table.model_dump(by_alias=True)
        direct = table.get(key)
        if direct:
            return str(direct)
        path = table.get(f"{key}_file")
        if path:
            try:
                return Path(path).expanduser().read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read {key}_file {path}: {exc.strerror}") from exc
        var = table.get(f"{key}_env")
        if var:
            return self.env.get(str(var), "")
        return ""


@dataclass(frozen=True)
class StoreKey:
    """What the token encryption needs: the passphrase (``HEAVYLEGS_SECRET_KEY``) or, without one, the data dir's key file."""

    data_dir: Path
    passphrase: str | None = field(default=None, repr=False)
