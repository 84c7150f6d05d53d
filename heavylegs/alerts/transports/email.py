"""E-mail alerts over SMTP: text + HTML alternatives, the HTML with an inline chart.

The HTML part is the Jinja2 template ``alerts/templates/alert_email.html.j2``
(autoescaped). SMTP replies in the 5xx range are permanent (the server will
refuse the same message again); 4xx and connection problems are retried.
"""
from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from heavylegs.alerts.model import Alert, Severity, TransportError
from heavylegs.alerts.transports.base import ChannelEnv, Transport, expect_conf, is_loopback
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema import SmtpSection
from heavylegs.settings_schema_alerts import ChannelBase, EmailChannelConf

log = logging.getLogger("heavylegs.alerts")

SECURITY = ("starttls", "tls", "none")
COLOURS: dict[Severity, str] = {"info": "#2c7fb8", "caution": "#e6a100", "warning": "#d95f0e", "urgent": "#c0392b"}
CHART_CID = "chart@heavylegs"

_TEMPLATES = Environment(loader=PackageLoader("heavylegs.alerts", "templates"), undefined=StrictUndefined,
                         autoescape=True)


def chart_png(rows: list[dict[str, Any]]) -> bytes | None:
    """The report's load chart of ``rows`` (daily rows with date, load, acute, chronic, acwr_ewma), or None."""
    if not rows:
        return None
    # Start-up time (issue 16): matplotlib takes a noticeable part of a second to import, and only a
    # delivery with an e-mail chart needs it, while `check`, `alerts` and the service build channels.
    from heavylegs.report.charts import load_chart_png  # noqa: PLC0415 - start-up time, not a cycle

    try:
        return load_chart_png(rows)
    except Exception as exc:  # noqa: BLE001 - a chart must never cost the alert: the mail goes without it
        log.warning("alert chart failed (%s: %s); sending the e-mail without it", type(exc).__name__, exc)
        return None


def render_html(alert: Alert, with_chart: bool) -> str:
    colour = COLOURS.get(alert.severity, "#444")
    return _TEMPLATES.get_template("alert_email.html.j2").render(alert=alert, colour=colour, with_chart=with_chart, chart_cid=CHART_CID)


def build_message(alert: Alert, sender: str, recipients: list[str], chart: bool = True) -> EmailMessage:
    domain = parseaddr(sender)[1].rpartition("@")[2] or socket.getfqdn()
    msg = EmailMessage()
    msg["Subject"] = alert.title
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    # Stable across retries, so a mail client shows a re-sent alert once.
    msg["Message-ID"] = f"<heavylegs-alert-{alert.id}@{domain}>"
    msg["X-Heavylegs-Alert"] = alert.id
    msg.set_content(alert.text())
    png = chart_png(alert.history) if chart else None
    msg.add_alternative(render_html(alert, with_chart=png is not None), subtype="html")
    if png is not None:
        html_part = list(msg.iter_parts())[1]
        html_part.add_related(png, "image", "png", cid=f"<{CHART_CID}>", filename="chart.png")
    return msg


def _refuse_plaintext_login(smtp: SmtpSection, conf: EmailChannelConf, name: str) -> None:
    """A login over ``security = "none"`` sends the password in clear: refused, except to a loopback
    relay with ``smtp.allow_plaintext_auth`` (a local MTA that relays over TLS itself)."""
    username = conf.username or smtp.username
    security = conf.security or smtp.security
    host = conf.host or smtp.host
    if not username or security != "none":
        return
    if smtp.allow_plaintext_auth and is_loopback(host):
        return
    why = "smtp.allow_plaintext_auth is honoured only for a loopback relay" if smtp.allow_plaintext_auth else \
        "set security = \"starttls\" or \"tls\" (or, for a relay on this machine only, smtp.allow_plaintext_auth = true)"
    raise ConfigError(f"alerts channel {name}: refusing to send the SMTP password to {host} without encryption "
                      f"(security = \"none\"); {why}")


class EmailTransport(Transport):
    kind = "email"

    def __init__(self, name: str, recipients: list[str], sender: str, host: str, port: int, security: str,
                 username: str, password: str, timeout_s: float, chart: bool = True, ca_file: str = "") -> None:
        super().__init__(name)
        self.recipients, self.sender = recipients, sender
        self.host, self.port, self.security = host, port, security
        self.username, self._password, self.timeout_s = username, password, timeout_s
        self.chart = chart
        self.wants_chart = chart
        self.ca_file = ca_file

    @classmethod
    def from_config(cls, name: str, env: ChannelEnv, conf: ChannelBase) -> EmailTransport:
        c = expect_conf(conf, EmailChannelConf, name)
        _refuse_plaintext_login(env.smtp, c, name)
        # The channel's keys override [smtp] one by one; unset or empty ones fall back to it.
        table = c.model_dump(by_alias=True, exclude_none=True, exclude={"kind", "name"})
        merged = env.smtp.model_dump(by_alias=True) | {k: v for k, v in table.items() if v not in (None, "")}
        to = merged.get("to")
        recipients = [to] if isinstance(to, str) else list(to or [])
        if not recipients:
            raise ConfigError(f"alerts channel {name}: email needs 'to'")
        security = str(merged.get("security", "none"))
        if security not in SECURITY:
            raise ConfigError(f"alerts channel {name}: smtp security must be one of {', '.join(SECURITY)}")
        return cls(name, recipients, str(merged.get("from") or "heavylegs@localhost"), str(merged["host"]),
                   int(merged["port"]), security, str(merged.get("username") or ""),
                   env.secrets.read(merged, "password"), float(merged["timeout_s"]), bool(merged.get("chart", True)),
                   str(Path(str(merged["ca_file"])).expanduser()) if merged.get("ca_file") else "")

    def _tls(self) -> ssl.SSLContext:
        # Certificates are always verified; a private mail server's CA goes in smtp.ca_file.
        return ssl.create_default_context(cafile=self.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=self._tls())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            smtp.starttls(context=self._tls())
        return smtp

    def notify(self, alert: Alert) -> None:
        msg = build_message(alert, self.sender, self.recipients, self.chart)
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(msg, from_addr=parseaddr(self.sender)[1], to_addrs=self.recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise TransportError(f"SMTP {where} refused every recipient (codes {codes})", permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise TransportError(f"SMTP {exc.smtp_code} from {where}: {text[:200]}", permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportError(f"SMTP server {where} does not support {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"cannot send through {where}: {type(exc).__name__}: {exc}"[:300]) from exc
