"""E-mail over STARTTLS and implicit TLS to a real aiosmtpd server with its own CA.

The certificate is made here for 127.0.0.1; heavylegs trusts it only through
``smtp.ca_file``, so these tests also show that certificates are verified.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from heavylegs.alerts.delivery import deliver_due
from heavylegs.alerts.query import channel_status, list_alerts
from heavylegs.alerts.transports.email import EmailTransport
from heavylegs.service.jobs import alerts_context, channel_env
from heavylegs.settings import Settings
from heavylegs.settings_schema_alerts import EmailChannelConf
from tests.alerts_support import (
    NOW,
)
from tests.receivers import SmtpReceiver
from tests.test_alerts_email import _queue, _settings


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "heavylegs test mail server")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's view of implicit TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_auth_is_delivered_when_the_ca_is_trusted(lite: tuple[Engine, Settings], cert: tuple[str, str], security: str) -> None:
    engine, settings = lite
    with SmtpReceiver(auth=("runner", "pw"), tls=security, cert=cert) as server:
        s = dataclasses.replace(
            _settings(settings, server.port, security=security, ca_file=cert[0], username="runner", password_env="PW"), env={"PW": "pw"}
        )
        ident = _queue(engine, s)
        summary = deliver_due(engine, alerts_context(s), NOW)
        assert summary.delivered == 1, list_alerts(engine)[0]["deliveries"]
        assert server.alert_ids() == [ident]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_untrusted_certificate_is_refused_and_retried(lite: tuple[Engine, Settings], cert: tuple[str, str], security: str) -> None:
    engine, settings = lite
    with SmtpReceiver(tls=security, cert=cert) as server:
        s = _settings(settings, server.port, security=security)  # no ca_file: the system CAs don't know ours
        _queue(engine, s)
        summary = deliver_due(engine, alerts_context(s), NOW)
        assert (summary.delivered, summary.retrying) == (0, 1) and server.messages == []
        assert "CERTIFICATE_VERIFY_FAILED" in list_alerts(engine)[0]["deliveries"][0]["last_error"]
        assert channel_status(engine, channel_env(s))[0]["permanent_error"] in (None, "")


def test_plain_smtp_to_a_server_that_requires_starttls_is_refused(lite: tuple[Engine, Settings], cert: tuple[str, str]) -> None:
    engine, settings = lite
    with SmtpReceiver(tls="starttls", cert=cert) as server:
        s = _settings(settings, server.port, security="none")
        _queue(engine, s)
        assert deliver_due(engine, alerts_context(s), NOW).delivered == 0 and server.messages == []
        assert "530" in list_alerts(engine)[0]["deliveries"][0]["last_error"]


def test_ca_file_is_read_from_config(tmp_path: Path, lite: tuple[Engine, Settings]) -> None:
    _, settings = lite
    channel = EmailTransport.from_config("mail", channel_env(settings.with_overrides({"smtp.ca_file": "~/ca.pem"})), EmailChannelConf(kind="email", to="a@b.c"))
    assert channel.ca_file == str(Path("~/ca.pem").expanduser())
