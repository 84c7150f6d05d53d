"""Delivery channels: each a small class whose ``notify(alert)`` returns or raises TransportError.

Configured as ``[[alerts.channels]]`` tables with ``name`` and ``kind``
(email | webhook | file | apprise). With none configured, alerts go to the
local file channel (JSON lines in the data dir, echoed on stderr).
"""
from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.settings import ConfigError, Settings
from heavylegs.settings_schema_alerts import (
    CHANNEL_KINDS,
    AppriseChannelConf,
    ChannelConf,
    EmailChannelConf,
    FileChannelConf,
    WebhookChannelConf,
)

KINDS = CHANNEL_KINDS
DEFAULT_CHANNEL = "local"


class Channel:
    kind = "base"

    def __init__(self, name: str) -> None:
        self.name = name

    def notify(self, alert: Alert) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class FileChannel(Channel):
    """JSON lines appended to a file, plus a readable line on the console."""

    kind = "file"

    def __init__(self, name: str, path: Path, console: bool = True) -> None:
        super().__init__(name)
        self.path = path
        self.console = console

    def notify(self, alert: Alert) -> None:
        line = json.dumps(alert.payload(), sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One O_APPEND write per alert keeps lines whole when two processes append.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError as exc:
            raise TransportError(f"cannot write {self.path}: {exc.strerror}", permanent=False) from exc
        if self.console:
            print(f"{alert.title}\n  {alert.message}", file=sys.stderr)


class AppriseChannel(Channel):
    kind = "apprise"

    def __init__(self, name: str, url: str) -> None:
        super().__init__(name)
        self._url = url

    def notify(self, alert: Alert) -> None:
        try:
            import apprise  # optional extra, imported only when used
        except ImportError as exc:
            raise TransportError("apprise is not installed: pip install heavylegs[apprise]", permanent=True) from exc
        client = apprise.Apprise()
        # The URL carries credentials: errors name the channel, never the URL.
        if not client.add(self._url):
            raise TransportError(f"channel {self.name}: apprise does not understand the configured url", permanent=True)
        if not client.notify(title=alert.title, body=alert.text()):
            raise TransportError(f"channel {self.name}: apprise could not deliver the notification", permanent=False)


def _channel(settings: Settings, conf: ChannelConf, index: int) -> Channel:
    """One channel from its validated ``[[alerts.channels]]`` table (kinds and types were checked at load)."""
    name = conf.name or f"{conf.kind}{index + 1}"
    if isinstance(conf, FileChannelConf):
        path = Path(conf.path or settings.cfg.alerts.file).expanduser()
        return FileChannel(name, path if path.is_absolute() else settings.data_dir / path, conf.console)
    if isinstance(conf, EmailChannelConf):
        from heavylegs.alerts.email import EmailChannel

        _refuse_plaintext_login(settings, conf, name)

        # EmailChannel merges these over [smtp]; it takes the table as written (key "from", unset keys absent).
        return EmailChannel.from_config(name, settings, conf.model_dump(by_alias=True, exclude_none=True, exclude={"kind", "name"}))
    if isinstance(conf, WebhookChannelConf):
        from heavylegs.alerts.webhook import WebhookChannel

        return WebhookChannel.from_config(name, settings, conf)
    if isinstance(conf, AppriseChannelConf):
        if not conf.url:
            raise ConfigError(f"alerts channel {name}: apprise needs a url")
        return AppriseChannel(name, conf.url)
    raise ConfigError(f"alerts channel {name}: unknown kind {conf.kind!r} (one of {', '.join(KINDS)})")


def _loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refuse_plaintext_login(settings: Settings, conf: EmailChannelConf, name: str) -> None:
    """A login over ``security = "none"`` sends the password in clear: refused, except to a loopback
    relay with ``smtp.allow_plaintext_auth`` (a local MTA that relays over TLS itself)."""
    smtp = settings.cfg.smtp
    username = conf.username or smtp.username
    security = conf.security or smtp.security
    host = conf.host or smtp.host
    if not username or security != "none":
        return
    if smtp.allow_plaintext_auth and _loopback(host):
        return
    why = "smtp.allow_plaintext_auth is honoured only for a loopback relay" if smtp.allow_plaintext_auth else \
        "set security = \"starttls\" or \"tls\" (or, for a relay on this machine only, smtp.allow_plaintext_auth = true)"
    raise ConfigError(f"alerts channel {name}: refusing to send the SMTP password to {host} without encryption "
                      f"(security = \"none\"); {why}")


def channel_warnings(settings: Settings) -> list[str]:
    """What is risky but allowed, said at `heavylegs run` and `heavylegs alerts test`:
    an unsigned webhook, and a webhook over plain http beyond loopback."""
    out = []
    for i, conf in enumerate(settings.cfg.alerts.channels):
        if not isinstance(conf, WebhookChannelConf):
            continue
        name = conf.name or f"{conf.kind}{i + 1}"
        if not settings.secret(conf, "secret"):
            out.append(f"alerts channel {name}: webhook has no secret; its receiver cannot tell our alerts from forged ones (set secret_file)")
        parts = urlsplit(conf.url)
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            out.append(f"alerts channel {name}: webhook url is plain http to {parts.hostname}; alerts (and the signature) travel unencrypted (use https)")
    return out


def build_channels(settings: Settings) -> list[Channel]:
    confs = settings.cfg.alerts.channels
    if not confs:
        return [_channel(settings, FileChannelConf(kind="file", name=DEFAULT_CHANNEL), 0)]
    channels = [_channel(settings, c, i) for i, c in enumerate(confs)]
    names = [c.name for c in channels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"alerts channel names must be unique: {', '.join(dupes)}")
    return channels
