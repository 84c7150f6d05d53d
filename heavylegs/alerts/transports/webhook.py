"""Signed JSON webhooks (schema ``heavylegs.alert.v1``).

The signature is ``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>``
in ``X-Heavylegs-Signature``, with the unix timestamp in
``X-Heavylegs-Timestamp``: receivers recompute it over the exact bytes
received and reject old timestamps to stop replays. ``X-Heavylegs-Delivery``
is the alert id, stable across retries, for de-duplication.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

import httpx

from heavylegs.alerts.model import Alert, TransportError
from heavylegs.alerts.transports.base import ChannelEnv, Transport, expect_conf, is_loopback
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema_alerts import ChannelBase, WebhookChannelConf

# 408 and 429 mean "later", everything else in 4xx means "never like this".
RETRYABLE_4XX = {408, 429}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None, tolerance_s: float = 300) -> bool:
    """Receiver side: True when the signature matches and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def _where(url: str) -> str:
    # Webhook URLs often embed tokens in the path or query; errors show only the host.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class WebhookTransport(Transport):
    kind = "webhook"

    def __init__(self, name: str, url: str, secret: str, timeout_s: float) -> None:
        super().__init__(name)
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> WebhookTransport:
        c = expect_conf(conf, WebhookChannelConf, name)
        if urlsplit(c.url).scheme not in ("http", "https"):
            raise ConfigError(f"alerts channel {name}: webhook needs an http(s) url")
        timeout = c.timeout_s or env.alerts.webhook_timeout_s
        return cls(name, c.url, env.secrets.read(c, "secret"), timeout)

    @classmethod
    def config_warnings(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> list[str]:
        """An unsigned webhook, and a webhook over plain http beyond loopback."""
        c = expect_conf(conf, WebhookChannelConf, name)
        out = []
        if not env.secrets.read(c, "secret"):
            out.append(f"alerts channel {name}: webhook has no secret; its receiver cannot tell our alerts from forged ones (set secret_file)")
        parts = urlsplit(c.url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            out.append(f"alerts channel {name}: webhook url is plain http to {parts.hostname}; alerts (and the signature) travel unencrypted (use https)")
        return out

    def request(self, alert: Alert, now: float | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(alert.payload(), sort_keys=True, separators=(",", ":")).encode()
        ts = int(time.time() if now is None else now)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "heavylegs-alerts",
            "X-Heavylegs-Event": alert.rule,
            "X-Heavylegs-Delivery": alert.id,
            "X-Heavylegs-Timestamp": str(ts),
        }
        if self._secret:
            headers["X-Heavylegs-Signature"] = sign(self._secret, ts, body)
        return body, headers

    def notify(self, alert: Alert) -> None:
        body, headers = self.request(alert)
        where = _where(self.url)
        try:
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                resp = client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransportError(f"timed out after {self.timeout_s:g} s posting to {where}") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"cannot reach {where}: {type(exc).__name__}") from exc
        code = resp.status_code
        if 200 <= code < 300:
            return
        if 300 <= code < 400:
            raise TransportError(f"HTTP {code} redirect from {where} (redirects are not followed; fix the url)")
        permanent = 400 <= code < 500 and code not in RETRYABLE_4XX
        raise TransportError(f"HTTP {code} from {where}", permanent=permanent)
