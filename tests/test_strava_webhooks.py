"""Strava webhooks through a real HTTP server: handshake, subscription, every event kind, retention.

Issue 13 changed the contract on purpose: the callback path carries a secret,
every well-formed event gets the same answer, and updates, deletes and
deauthorizations are confirmed with the (fake) Strava API, so these tests
change the fake's state the way the athlete would before Strava sends the event.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette

from heavylegs.service.envs import source_env
from heavylegs.settings import Settings
from heavylegs.sources.store import get_source, remove_source
from heavylegs.store.activities import SourceRef, get_or_create_athlete, load_streams, store_activity
from heavylegs.store.tables import activities
from heavylegs.strava import records
from heavylegs.strava.records import apply_retention
from heavylegs.strava.routes import routes
from heavylegs.strava.source import StravaSource as StravaKind
from heavylegs.strava.subscription import status, subscribe, unsubscribe
from heavylegs.strava.tables import strava_activities, strava_events, strava_tokens
from heavylegs.strava.webhooks import ACK
from ingest.model import Activity, Streams
from tests.helpers import poll
from tests.strava_fake import StravaFake, seed_connection, strava_settings, synthetic_run

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)


class Service:
    """The Strava routes on a real uvicorn server; ``woken`` records wake_sources calls."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        app = Starlette(routes=routes(engine, source_env(settings)))
        self.woken: list[str] = []
        app.state.wake_sources = self.woken.append
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        poll(lambda: self.server.started, 10, interval=0.01, what="the web server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/strava"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def fake() -> Iterator[StravaFake]:
    server = StravaFake().start()
    yield server
    server.stop()


@pytest.fixture
def env(engine: Engine, settings: Settings, fake: StravaFake) -> Iterator[tuple[Settings, Service]]:
    settings = strava_settings(settings, fake)
    service = Service(engine, settings)
    yield settings, service
    service.stop()


def _sync(engine: Engine, settings: Settings) -> object:
    return StravaKind().sync(engine, source_env(settings), get_source(engine, "strava"), datetime.now(timezone.utc))


def test_subscription_handshake_and_crud(engine: Engine, env: tuple[Settings, Service], fake: StravaFake) -> None:
    settings, service = env
    sid = subscribe(engine, source_env(settings), service.url)  # the fake calls our GET handshake before answering
    url = fake.subscriptions[sid]["callback_url"]
    # Intended change (issue 13): the callback carries a secret path segment made at subscribe.
    assert list(fake.subscriptions) == [sid] and url.startswith(service.url + "/") and len(url) - len(service.url) > 40
    assert status(engine, source_env(settings))["local"]["subscription_id"] == sid
    wrong = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "x", "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert httpx.get(service.url, params={"hub.mode": "subscribe", "hub.challenge": "x"}).status_code == 404  # the bare path is gone
    again = subscribe(engine, source_env(settings), service.url)  # subscribing again replaces the subscription (Strava allows one)
    assert list(fake.subscriptions) == [again] and fake.subscriptions[again]["callback_url"] != url
    assert httpx.post(url, json=fake.event("activity", 1, "create")).status_code == 404  # the old secret stops working
    assert unsubscribe(engine, source_env(settings)) == again and fake.subscriptions == {}
    assert status(engine, source_env(settings)) == {"local": None, "strava": []}


def test_every_event_kind(engine: Engine, env: tuple[Settings, Service], fake: StravaFake) -> None:
    settings, service = env
    subscribe(engine, source_env(settings), service.url)
    seed_connection(engine, settings, fake, cursor=int(time.time()))  # nothing to list: events only
    for i in (1, 2, 3):
        fake.add(*synthetic_run(i, T0 + timedelta(days=i - 3)))
    # Run 2 is already in the store from a watch file.
    with engine.begin() as conn:
        athlete_id = get_or_create_athlete(conn, "me")
        t = np.arange(0, 1801, 5.0)
        store_activity(conn, athlete_id, Activity(start_utc=T0 + timedelta(days=-1, seconds=15), sport="running", format="fit", elapsed_s=1805,
                                                  distance_m=5420.0, streams=Streams(time_s=t)), SourceRef(kind="file", ref="w.fit", sha256="a" * 64, format="fit"))

    create1, create2 = fake.event("activity", 1, "create"), fake.event("activity", 2, "create")
    started = time.monotonic()
    answer = fake.deliver(create1)
    # Intended change (issue 13): one answer for every well-formed event, stored or not.
    assert answer.status_code == 200 and answer.json() == ACK and time.monotonic() - started < 1.0
    assert service.woken == ["strava"]
    assert fake.deliver(create1).json() == ACK  # Strava redelivers: stored once
    fake.deliver(create2)
    assert fake.deliver(fake.event("activity", 9, "create", owner_id=999)).json() == ACK
    assert fake.deliver(fake.event("activity", 9, "create", subscription_id=12345)).json() == ACK
    assert service.woken == ["strava", "strava"]  # only the two real, new events woke the sync

    result = _sync(engine, settings)
    assert result.status == "ok" and result.new == 1
    assert [c.path for c in fake.requests_to(r"^/api/v3/activities/")] == [
        "/api/v3/activities/1", "/api/v3/activities/1/streams", "/api/v3/activities/2"]  # run 2: summary only
    with engine.connect() as conn:
        rows = {r.strava_id: r for r in conn.execute(select(activities))}
    assert set(rows) == {1, 2} and rows[2].format == "fit"

    fake.edit(1, name="Hill reps", type="Run", sport_type="TrailRun", private=True)
    fake.deliver(fake.event("activity", 1, "update", {"title": "Hill reps", "type": "TrailRun", "private": "true"}))
    fake.deliver(fake.event("activity", 1, "update", {"title": "Hill reps", "type": "TrailRun", "private": "true"}, event_time=int(time.time()) + 1))
    before = len(fake.calls)
    _sync(engine, settings)
    assert [c.path for c in fake.calls[before:]] == ["/api/v3/activities/1", "/api/v3/athlete/activities"]  # one fetch for both updates

    fake.remove(1)
    fake.remove(2)
    fake.deliver(fake.event("activity", 1, "delete", event_time=int(time.time()) + 5))
    fake.deliver(fake.event("activity", 2, "delete", event_time=int(time.time()) + 5))
    before = len(fake.calls)
    _sync(engine, settings)
    with engine.connect() as conn:
        outcomes = [r.outcome for r in conn.execute(select(strava_events).order_by(strava_events.c.id))]
        remaining = {r.strava_id: r for r in conn.execute(select(activities))}
        summary = records.unpack(conn.execute(select(strava_activities.c.summary_z).where(strava_activities.c.strava_id == 1)).scalar())
    assert outcomes == ["new", "linked", "updated", "updated", "deleted", "unlinked"]
    assert (summary["name"], summary["sport_type"], summary["private"]) == ("Hill reps", "TrailRun", True)
    assert list(remaining) == [None] and remaining[None].format == "fit"  # the watch file's run stays, unlinked
    # Intended change (issue 13): each delete is confirmed by Strava's 404 before anything is removed.
    assert [c.path for c in fake.calls[before:]] == ["/api/v3/activities/1", "/api/v3/activities/2", "/api/v3/athlete/activities"]

    fake.revoke()  # the athlete revoked heavylegs on Strava, then Strava sent the event
    fake.deliver(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}))
    result = _sync(engine, settings)
    assert result.status == "needs_reauth"
    src = get_source(engine, "strava")
    assert (src.enabled, src.status) == (False, "needs_reauth")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(strava_tokens)).scalar() == 0


def test_update_refreshes_title_and_type(engine: Engine, env: tuple[Settings, Service], fake: StravaFake) -> None:
    settings, service = env
    subscribe(engine, source_env(settings), service.url)
    seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 60)
    fake.add(*synthetic_run(7, T0))
    _sync(engine, settings)
    fake.edit(7, name="Long run", sport_type="TrailRun")
    fake.deliver(fake.event("activity", 7, "update", {"title": "Long run", "type": "TrailRun"}))
    _sync(engine, settings)
    with engine.connect() as conn:
        row = conn.execute(select(activities)).one()
    assert (row.name, row.sport, row.strava_id) == ("Long run", "trail_running", 7)


def test_retention_drops_raw_streams_only(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake, raw_retention_days=30)
    seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 60)
    fake.add(*synthetic_run(5, T0))
    _sync(engine, settings)
    now = datetime.now(timezone.utc)
    assert apply_retention(engine, settings.cfg.strava, now) == 0
    assert apply_retention(engine, settings.cfg.strava, now + timedelta(days=31)) == 1
    assert apply_retention(engine, strava_settings(settings, fake, raw_retention_days=0).cfg.strava, now + timedelta(days=99)) == 0
    with engine.connect() as conn:
        raw = conn.execute(select(strava_activities.c.streams_z, strava_activities.c.summary_z)).one()
        act = conn.execute(select(activities.c.id)).scalar()
        assert raw.streams_z is None and records.unpack(raw.summary_z)["id"] == 5
        assert len(load_streams(conn, int(act))) == 60  # the activity keeps its own streams


def test_disconnect_deauthorizes_and_forgets_tokens(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake)
    seed_connection(engine, settings, fake)
    token = next(iter(fake.access))
    remove_source(engine, source_env(settings), "strava")
    assert len(fake.requests_to("^/oauth/deauthorize$", "POST")) == 1 and token not in fake.access
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(strava_tokens)).scalar() == 0
