"""Issue 13, findings 7 and 13 (webhook channel): no SMTP password in clear, warnings for weak webhooks.

The review found ``security = "none"`` with a login sending the password in
clear, silently. Now such a channel is refused at `heavylegs run` and
`heavylegs alerts test`, except for a loopback relay the user explicitly
allowed (``smtp.allow_plaintext_auth``). A real aiosmtpd server on loopback
stands in for the mail server.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from heavylegs.alerts.transports.registry import build_channels, channel_warnings
from heavylegs.cli import main
from heavylegs.service.jobs import channel_env
from heavylegs.settings import ConfigError, load_settings
from tests.helpers import run_process
from tests.receivers import SmtpReceiver, WebhookReceiver

PASSWORD = "smtp-secret-pw"


def _config(tmp_path: Path, smtp: str, channel: str = "") -> Path:
    cfg = tmp_path / "heavylegs.toml"
    cfg.write_text(f'[smtp]\n{smtp}\nusername = "runner"\npassword_env = "SMTP_PW"\n\n'
                   '[[alerts.channels]]\nname = "mail"\nkind = "email"\nto = "runner@example.org"\n' + channel)
    return cfg


def _alerts_test(tmp_path: Path, cfg: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--config", str(cfg), "alerts", "test", *extra],
                                env={"SMTP_PW": PASSWORD})
    return result.exit_code, result.output


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_login_without_tls_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    with SmtpReceiver(auth=("runner", PASSWORD)) as server:
        cfg = _config(tmp_path, f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "none"')
        code, output = _alerts_test(tmp_path, cfg)
        assert code == 2 and "refusing to send the SMTP password" in output and "starttls" in output
        assert server.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_loopback_relay_may_be_allowed_explicitly(tmp_path: Path) -> None:
    with SmtpReceiver(auth=("runner", PASSWORD)) as server:
        cfg = _config(tmp_path, f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nallow_plaintext_auth = true')
        code, output = _alerts_test(tmp_path, cfg)
        assert code == 0 and "mail: ok" in output, output
        assert len(server.messages) == 1


def test_the_allowance_is_not_honoured_beyond_loopback(tmp_path: Path) -> None:
    # 192.0.2.1 is TEST-NET-1: refused before any connection is tried.
    cfg = _config(tmp_path, 'host = "192.0.2.1"\nport = 25\nsecurity = "none"\nallow_plaintext_auth = true')
    settings = load_settings(config=cfg, data_dir=tmp_path, environ={"SMTP_PW": PASSWORD})
    with pytest.raises(ConfigError, match="only for a loopback relay"):
        build_channels(channel_env(settings))
    # Encrypted, or without a login, the same server is fine.
    build_channels(channel_env(settings.with_overrides({"smtp.security": "starttls"})))
    build_channels(channel_env(settings.with_overrides({"smtp.username": ""})))


def test_run_refuses_to_start_with_a_plaintext_login(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 'host = "mail.example.org"\nport = 25\nsecurity = "none"')
    result = run_process("--data-dir", str(tmp_path / "data"), "--config", str(cfg), "run", "--port", "0", timeout=60)
    assert result.returncode == 2 and "refusing to send the SMTP password to mail.example.org" in result.stderr


def test_webhooks_without_a_secret_or_over_plain_http_are_warned_about(tmp_path: Path) -> None:
    with WebhookReceiver() as hook:
        cfg = tmp_path / "hook.toml"
        cfg.write_text(f'[[alerts.channels]]\nname = "hook"\nkind = "webhook"\nurl = "{hook.url}"\n')
        result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--config", str(cfg), "alerts", "test"])
        assert result.exit_code == 0, result.output
        assert "warning: alerts channel hook: webhook has no secret" in result.output
        assert "plain http" not in result.output  # loopback http is fine
    base = load_settings(data_dir=tmp_path, environ={"HOOK_SECRET": "s3cret"})
    plain = base.with_overrides({"alerts.channels": [{"name": "far", "kind": "webhook", "url": "http://hooks.example.org/x", "secret_env": "HOOK_SECRET"}]})
    assert [w for w in channel_warnings(channel_env(plain)) if "plain http to hooks.example.org" in w]
    good = base.with_overrides({"alerts.channels": [{"name": "far", "kind": "webhook", "url": "https://hooks.example.org/x", "secret_env": "HOOK_SECRET"}]})
    assert channel_warnings(channel_env(good)) == []
