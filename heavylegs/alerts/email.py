"""E-mail alerts over SMTP: text + HTML alternatives, the HTML with an inline chart.

SMTP replies in the 5xx range are permanent (the server will refuse the same
message again); 4xx and connection problems are retried.
"""
from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

from heavylegs.alerts.channels import Channel
from heavylegs.alerts.chart import load_png
from heavylegs.alerts.model import Alert, TransportError
from heavylegs.settings import ConfigError, Settings

SECURITY = ("starttls", "tls", "none")
COLOURS = {"info": "#2c7fb8", "caution": "#e6a100", "warning": "#d95f0e", "urgent": "#c0392b"}


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
    png = load_png(alert.history) if chart else None
    msg.add_alternative(_html(alert, with_chart=png is not None), subtype="html")
    if png is not None:
        msg.get_payload()[1].add_related(png, "image", "png", cid="<chart@heavylegs>", filename="chart.png")
    return msg


def _html(alert: Alert, with_chart: bool) -> str:
    esc = html.escape
    colour = COLOURS.get(alert.severity, "#444")
    advice = "".join(f"<li>{esc(a)}</li>" for a in alert.advice)
    numbers = "".join(f'<tr><td style="vertical-align:top;padding-right:8px">{esc(str(k))}</td><td>{esc(str(v))}</td></tr>'
                      for k, v in alert.metrics.items())
    # The daily digest is several lines; keep them as lines in HTML too.
    message = esc(alert.message).replace("\n", "<br>")
    # max-width/height:auto: on a phone (390 px) the 600 px chart shrinks to the screen instead of being cut off.
    chart = ('<p style="margin:0 0 1em 0"><img src="cid:chart@heavylegs" alt="daily load and load ratio" width="600" '
             'style="display:block;max-width:100%;height:auto;border:0"></p>') if with_chart else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;padding:12px;font-family:sans-serif;line-height:1.4">'
        '<div style="max-width:600px;margin:0 auto;overflow-wrap:break-word;word-wrap:break-word">'
        f'<h2 style="color:{colour};font-size:1.25em">{esc(alert.title)}</h2><p>{message}</p>{chart}'
        + (f'<h3 style="font-size:1.05em">What to do</h3><ul style="padding-left:1.2em">{advice}</ul>' if advice else "")
        + f'<table style="font-size:small;width:100%;max-width:100%;border-collapse:collapse;table-layout:fixed">{numbers}</table>'
        f'<p style="font-size:small;color:#777">Alert id {esc(alert.id)}</p></div></body></html>'
    )


class EmailChannel(Channel):
    kind = "email"

    def __init__(self, name: str, recipients: list[str], sender: str, host: str, port: int, security: str,
                 username: str, password: str, timeout_s: float, chart: bool = True, ca_file: str = "") -> None:
        super().__init__(name)
        self.recipients, self.sender = recipients, sender
        self.host, self.port, self.security = host, port, security
        self.username, self._password, self.timeout_s = username, password, timeout_s
        self.chart = chart
        self.ca_file = ca_file

    @classmethod
    def from_config(cls, name: str, settings: Settings, conf: dict[str, Any]) -> "EmailChannel":
        merged = settings.section("smtp") | {k: v for k, v in conf.items() if v not in (None, "")}
        to = merged.get("to")
        recipients = [to] if isinstance(to, str) else list(to or [])
        if not recipients:
            raise ConfigError(f"alerts channel {name}: email needs 'to'")
        security = str(merged.get("security", "none"))
        if security not in SECURITY:
            raise ConfigError(f"alerts channel {name}: smtp security must be one of {', '.join(SECURITY)}")
        return cls(name, recipients, str(merged.get("from") or "heavylegs@localhost"), str(merged.get("host", "127.0.0.1")),
                   int(merged.get("port", 25)), security, str(merged.get("username") or ""),
                   settings.secret(merged, "password"), float(merged.get("timeout_s", 10)), bool(merged.get("chart", True)),
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
