"""Delivery channels: each a small class whose ``notify(alert)`` returns or raises TransportError.

Configured as ``[[alerts.channels]]`` tables with ``name`` and ``kind``
(email | webhook | file | apprise). With none configured, alerts go to the
local file channel (JSON lines in the data dir, echoed on stderr).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.settings import ConfigError, Settings

KINDS = ("email", "webhook", "file", "apprise")
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


def _channel(settings: Settings, conf: dict[str, Any], index: int) -> Channel:
    kind = str(conf.get("kind", ""))
    name = str(conf.get("name") or f"{kind}{index + 1}")
    if kind == "file":
        raw = conf.get("path") or settings.get("alerts.file", "alerts.jsonl")
        path = Path(str(raw)).expanduser()
        return FileChannel(name, path if path.is_absolute() else settings.data_dir / path, bool(conf.get("console", True)))
    if kind == "email":
        from heavylegs.alerts.email import EmailChannel

        return EmailChannel.from_config(name, settings, conf)
    if kind == "webhook":
        from heavylegs.alerts.webhook import WebhookChannel

        return WebhookChannel.from_config(name, settings, conf)
    if kind == "apprise":
        if not conf.get("url"):
            raise ConfigError(f"alerts channel {name}: apprise needs a url")
        return AppriseChannel(name, str(conf["url"]))
    raise ConfigError(f"alerts channel {name}: unknown kind {kind!r} (one of {', '.join(KINDS)})")


def build_channels(settings: Settings) -> list[Channel]:
    confs = settings.get("alerts.channels") or []
    if not isinstance(confs, list):
        raise ConfigError("alerts.channels must be an array of tables ([[alerts.channels]])")
    if not confs:
        return [_channel(settings, {"kind": "file", "name": DEFAULT_CHANNEL}, 0)]
    channels = [_channel(settings, dict(c), i) for i, c in enumerate(confs)]
    names = [c.name for c in channels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"alerts channel names must be unique: {', '.join(dupes)}")
    return channels
