"""Any notification service Apprise knows (ntfy, Telegram, Signal, Pushover...), by URL.

Apprise is an optional extra (``pip install heavylegs[apprise]``): it is imported
when a notification is sent, so a server without it still starts and the channel
fails permanently with a clear message.
"""
from __future__ import annotations

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.alerts.transports.base import ChannelEnv, Transport, expect_conf
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema_alerts import AppriseChannelConf, ChannelBase


class AppriseTransport(Transport):
    kind = "apprise"

    def __init__(self, name: str, url: str) -> None:
        super().__init__(name)
        self._url = url

    @classmethod
    def from_config(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> AppriseTransport:
        c = expect_conf(conf, AppriseChannelConf, name)
        if not c.url:
            raise ConfigError(f"alerts channel {name}: apprise needs a url")
        return cls(name, c.url)

    def notify(self, alert: Alert) -> None:
        try:
            import apprise  # noqa: PLC0415 - the optional extra, see the module docstring
        except ImportError as exc:
            raise TransportError("apprise is not installed: pip install heavylegs[apprise]", permanent=True) from exc
        client = apprise.Apprise()
        # The URL carries credentials: errors name the channel, never the URL.
        if not client.add(self._url):
            raise TransportError(f"channel {self.name}: apprise does not understand the configured url", permanent=True)
        if not client.notify(title=alert.title, body=alert.text()):
            raise TransportError(f"channel {self.name}: apprise could not deliver the notification", permanent=False)
