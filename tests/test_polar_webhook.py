"""Polar's webhook on a real ``heavylegs run``: subscribe (PING), signed EXERCISE events fetched at once, bad signatures refused."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

from heavylegs.sources.tables import polar_webhooks
from heavylegs.store.tables import activities, sources
from tests.polar_fake import PolarFake
from tests.service_support import ServiceProc, count_rows, poll
from tests.test_polar_cli import Env, fenix2, run2013


def test_webhook_subscribe_ping_signature_and_fetch_by_id(tmp_path: Path) -> None:
    fake = PolarFake().start()
    try:
        env = Env(tmp_path, fake)
        with open(env.cfg, "a") as fh:
            fh.write("[service]\nsync_interval_s = 3600\nfolder_scan_interval_s = 3600\nanalysis_interval_s = 3600\n")
        env.connect()
        service = ServiceProc(tmp_path / "data", env.db, env.cfg, inbox=tmp_path / "inbox")
        try:
            service.wait_up()
            poll(lambda: count_rows(env.db, sources, sources.c.kind == "polar", sources.c.last_success_ts.is_not(None)) == 1, 30,
                 what="the service's first Polar sync")
            subscribed = env.cli("polar", "subscribe", "--url", service.url)
            assert subscribed.exit_code == 0, subscribed.output
            assert fake.webhook is not None and fake.webhook["url"].startswith(f"{service.url}/webhooks/polar/")
            secret_path = fake.webhook["url"].rsplit("/", 1)[1]
            assert secret_path not in subscribed.output and len(secret_path) >= 24  # unguessable, never printed
            engine = create_engine(env.db)
            with engine.connect() as conn:
                key_enc = conn.execute(select(polar_webhooks.c.signature_key_enc)).scalar_one()
            engine.dispose()
            assert fake.webhook["signature_secret_key"].encode() not in key_enc  # stored encrypted
            fake.add(fenix2())
            fake.add(run2013())
            forged = fake.deliver("aBc12", key="0" * 32)  # signed with the wrong key
            assert forged.status_code == 401 and fake.downloads() == []
            garbage = fake.deliver("aBc12", key="0" * 32, body=b"{not json")
            assert garbage.status_code == 401  # refused before parsing
            wrong_path = httpx.post(f"{service.url}/webhooks/polar/guess", content=b"{}", headers={"Content-Type": "application/json"})
            assert wrong_path.status_code == 404
            ping = httpx.post(fake.webhook["url"], content=json.dumps({"event": "PING", "timestamp": "2026-01-01T00:00:00Z"}).encode(),
                              headers={"Content-Type": "application/json", "Polar-Webhook-Event": "PING"})
            assert ping.status_code == 200 and fake.downloads() == []
            good = fake.deliver("aBc12")
            assert good.status_code == 200 and good.json()["outcome"] == "new", good.text
            assert fake.downloads() == ["/v3/exercises/aBc12/fit"] and count_rows(env.db, activities) == 1
            assert fake.deliver("aBc12").json()["outcome"] == "known"  # a repeated event downloads nothing
            assert len(fake.downloads()) == 1
            assert service.stop(signal.SIGTERM) == 0, service.output()
        finally:
            service.cleanup()
        sync = env.json("sync", "polar", "--json")  # polling stays the source of truth: the exercise no event announced
        assert (sync["new"], sync["status"]) == (1, "ok") and count_rows(env.db, activities) == 2
    finally:
        fake.stop()
