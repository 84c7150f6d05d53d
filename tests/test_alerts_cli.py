"""``heavylegs alerts ...`` through the real command (click's CliRunner) against SQLite and a loopback webhook."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from heavylegs.store.db import make_engine, migrate
from tests.alerts_support import add_athlete, add_days
from tests.helpers import run_cli
from tests.receivers import WebhookReceiver

SECRET = "cli-secret"


def _setup(tmp_path: Path, hook_url: str) -> list[str]:
    db = f"sqlite:///{tmp_path / 'hl.db'}"
    cfg = tmp_path / "heavylegs.toml"
    cfg.write_text(
        "[alerts]\nwebhook_timeout_s = 1\nretry_base_s = 60\n"
        f'[[alerts.channels]]\nname = "hook"\nkind = "webhook"\nurl = "{hook_url}"\nsecret_env = "HOOK_SECRET"\n'
    )
    engine = make_engine(db)
    migrate(engine)
    # A streak up to today (the CLI uses the real clock): one no_rest alert, nothing else.
    add_days(engine, add_athlete(engine), [50.0] * 8, end=datetime.now(timezone.utc).date())
    engine.dispose()
    return ["--data-dir", str(tmp_path / "data"), "--db", db, "--config", str(cfg)]


ENV = {"HOOK_SECRET": SECRET}

def test_check_deliver_list_and_channels(tmp_path: Path) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        base = _setup(tmp_path, hook.url)
        hook.down()
        checked = run_cli(*base, "alerts", "check", env=ENV)
        assert checked.returncode == 0, checked.stderr
        assert "queued 1" in checked.stdout and "retrying 1" in checked.stdout
        waiting = run_cli(*base, "alerts", "deliver", env=ENV)
        assert waiting.returncode == 1 and "pending 1" in waiting.stdout
        [alert] = json.loads(run_cli(*base, "alerts", "--json", env=ENV).stdout)
        assert alert["rule"] == "no_rest" and alert["metrics"]["run_streak"] == 7
        [d] = alert["deliveries"]
        assert (d["channel"], d["status"], d["attempts"]) == ("hook", "retrying", 2)
        [chan] = json.loads(run_cli(*base, "alerts", "channels", "--json", env=ENV).stdout)
        assert (chan["name"], chan["kind"], chan["pending"], chan["last_success"]) == ("hook", "webhook", 1, None)
        assert "cannot reach" in chan["last_error"]
        hook.up()
        done = run_cli(*base, "alerts", "deliver", env=ENV)
        assert done.returncode == 0 and "delivered 1" in done.stdout
        assert hook.unique_ids() == [alert["id"]] and hook.received[0].signature_ok
        text = run_cli(*base, "alerts", env=ENV).stdout
        assert "no_rest" in text and "hook: delivered" in text
        tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
        assert json.loads(run_cli(*base, "alerts", "--since", tomorrow, "--json", env=ENV).stdout) == []


def test_test_alert_command(tmp_path: Path) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        base = _setup(tmp_path, hook.url)
        sent = run_cli(*base, "alerts", "test", "--channel", "hook", env=ENV)
        assert sent.returncode == 0 and "hook: ok" in sent.stdout
        [got] = hook.received
        assert got.json["rule"] == "test" and got.signature_ok
        unknown = run_cli(*base, "alerts", "test", "--channel", "nope", env=ENV)
        assert unknown.returncode == 2 and "no alerts channel named 'nope'" in unknown.stderr
        hook.status = 410
        failed = run_cli(*base, "alerts", "test", env=ENV)
        assert failed.returncode == 1 and "HTTP 410" in failed.stdout
