"""The local channel: JSON lines appended to a file in the data dir, plus a readable console line.

With no ``[[alerts.channels]]`` configured, alerts go here (channel ``local``).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.alerts.transports.base import ChannelEnv, Transport, expect_conf
from heavylegs.settings_schema_alerts import ChannelBase, FileChannelConf


class FileTransport(Transport):
    kind = "file"

    def __init__(self, name: str, path: Path, console: bool = True) -> None:
        super().__init__(name)
        self.path = path
        self.console = console

    @classmethod
    def from_config(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> FileTransport:
        c = expect_conf(conf, FileChannelConf, name)
        path = Path(c.path or env.alerts.file).expanduser()
        return cls(name, path if path.is_absolute() else env.data_dir / path, c.console)

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
