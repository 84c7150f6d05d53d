"""What every transport is: a named channel with ``notify(alert)``, built from its typed table.

``notify`` returns on success and raises ``TransportError`` otherwise, with
``permanent=True`` when sending the same alert again cannot succeed (a 4xx, an
SMTP 5xx, a URL the library does not understand): delivery then stops retrying.
"""
from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema import SmtpSection
from heavylegs.settings_schema_alerts import AlertsSection, ChannelBase
from heavylegs.settings_views import Secrets

__all__ = ["ChannelEnv", "Transport", "TransportError", "expect_conf", "is_loopback"]

ConfT = TypeVar("ConfT", bound=ChannelBase)


@dataclass(frozen=True)
class ChannelEnv:
    """What building a channel reads besides its own table: ``[alerts]`` (the channel tables, the
    local file, the webhook timeout), ``[smtp]`` (what e-mail channels inherit), the secrets
    reader (``secret``/``password`` by file or variable) and the data dir (relative file paths)."""

    alerts: AlertsSection
    smtp: SmtpSection
    secrets: Secrets
    data_dir: Path


class Transport(ABC):
    """One configured channel. Subclasses set ``kind`` and implement ``from_config`` and ``notify``."""

    kind: ClassVar[str] = "base"
    # Delivery reads the athlete's recent daily rows into ``alert.history`` only for a channel
    # that draws them (the e-mail chart): the other channels never pay for that query.
    wants_chart: bool = False

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    @abstractmethod
    def from_config(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> Transport:
        """The channel from its validated ``[[alerts.channels]]`` table; ConfigError when unusable."""

    @classmethod
    def config_warnings(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> list[str]:
        """What is risky but allowed in this table, said at start and by ``alerts test``."""
        return []

    @abstractmethod
    def notify(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise TransportError."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def expect_conf(conf: ChannelBase, conf_type: type[ConfT], name: str) -> ConfT:
    """``conf`` narrowed to the table type of a kind (the registry dispatches on ``kind``, so this holds)."""
    if not isinstance(conf, conf_type):
        raise ConfigError(f"alerts channel {name}: expected a {conf_type.__name__} table, got {type(conf).__name__}")
    return conf


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (loopback address or localhost)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
