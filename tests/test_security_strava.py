"""Issue 13, finding 1 and the Strava parts of 13: forged webhook events do no harm.

Every attack of the review is replayed against the real web app (``build_app``:
host check, body cap, auth gate) on a real uvicorn server on loopback, with
the strict Strava fake behind it. A forged event may be stored, but nothing
changes until the Strava API confirms it: an activity is deleted only after
Strava answers 404 for it, the tokens only after Strava refuses them and a
refresh, and an update takes its values from the API, never from the event.
"""
from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, update

from heavylegs.service.envs import source_env
from heavylegs.service.prom import PrometheusMetrics
from heavylegs.service.scheduler import Scheduler
from heavylegs.service.web import build_app
from heavylegs.settings import Settings
from heavylegs.sources.base import SyncResult
from heavylegs.sources.store import get_source
from heavylegs.store.tables import activities, sources
from heavylegs.strava import webhooks
from heavylegs.strava.connect import begin
from heavylegs.strava.source import StravaSource
from heavylegs.strava.subscription import subscribe
from heavylegs.strava.tables import (
    strava_events,
    strava_oauth_pending,
    strava_subscription,
    strava_tokens,
)
from tests.helpers import poll
from tests.service_support import free_port
from tests.strava_fake import (
    StravaFake,
    seed_connection,
    strava_settings,
    synthetic_run,
)

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)


class Hl:
    """heavylegs' web app on loopback, a connected Strava source with run 1 stored, and a subscription."""

    def __init__(self, engine: Engine, settings: Settings, fake: StravaFake) -> None:
        self.engine, self.fake, self.port = engine, fake, free_port()
        self.settings = strava_settings(settings, fake, callback_port=self.port, webhook_creates_per_sync=3)
        app = build_app(engine, self.settings, Scheduler(engine, self.settings), PrometheusMetrics(engine), bind_host="127.0.0.1")
        self.woken: list[str] = []
        app.state.wake_sources = self.woken.append  # the test runs the sync itself
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        poll(lambda: self.server.started, 10, interval=0.01, what="the web server")
        seed_connection(engine, self.settings, fake, cursor=int(T0.timestamp()) - 60)
        fake.add(*synthetic_run(1, T0, name="Tempo"))
        assert self.sync().new == 1
        self.sid = subscribe(engine, source_env(self.settings), self.base + "/webhooks/strava")  # the real handshake
        self.hook = fake.subscriptions[self.sid]["callback_url"]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sync(self) -> SyncResult:
        return StravaSource().sync(self.engine, source_env(self.settings), get_source(self.engine, "strava"), datetime.now(timezone.utc))

    def post(self, event: dict[str, Any], url: str | None = None) -> httpx.Response:
        return httpx.post(url or self.hook, json=event, timeout=5)

    def names(self) -> dict[int, str]:
        with self.engine.connect() as conn:
            return {int(r.strava_id): r.name for r in conn.execute(select(activities.c.strava_id, activities.c.name)) if r.strava_id is not None}

    def tokens(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(strava_tokens)).scalar() or 0)

    def outcomes(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r.outcome for r in conn.execute(select(strava_events).order_by(strava_events.c.id))]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def fake() -> Iterator[StravaFake]:
    server = StravaFake().start()
    yield server
    server.stop()


@pytest.fixture
def hl(engine: Engine, settings: Settings, fake: StravaFake) -> Iterator[Hl]:
    service = Hl(engine, settings, fake)
    yield service
    service.stop()


def test_forged_delete_of_an_existing_activity_deletes_nothing(hl: Hl, fake: StravaFake) -> None:
    assert hl.post(fake.event("activity", 1, "delete")).status_code == 200
    assert hl.sync().status == "ok"
    assert hl.names() == {1: "Tempo"}  # Strava still answers 200 for run 1
    assert hl.outcomes() == ["still on Strava: not deleted"]
    assert len(fake.requests_to(r"^/api/v3/activities/1$")) == 1


def test_a_real_delete_is_confirmed_by_404_and_applied(hl: Hl, fake: StravaFake) -> None:
    fake.remove(1)  # the athlete deleted the run on Strava
    hl.post(fake.event("activity", 1, "delete"))
    hl.sync()
    assert hl.names() == {} and hl.outcomes() == ["deleted"]


def test_forged_delete_of_an_unknown_activity_costs_no_request(hl: Hl, fake: StravaFake) -> None:
    before = len(fake.requests_to(r"^/api/v3/activities/"))
    hl.post(fake.event("activity", 777, "delete"))
    hl.sync()
    assert hl.outcomes() == ["nothing stored"] and len(fake.requests_to(r"^/api/v3/activities/")) == before


def test_forged_deauthorization_changes_nothing(hl: Hl, fake: StravaFake) -> None:
    hl.post(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}))
    result = hl.sync()
    src = get_source(hl.engine, "strava")
    assert result.status == "ok" and (src.enabled, src.status) == (True, "ok") and hl.tokens() == 1
    assert hl.outcomes() == ["not confirmed: the token still works"]
    assert len(fake.requests_to(r"^/api/v3/athlete$")) == 1  # asked Strava whether the token still works


def test_a_refused_access_token_that_refreshes_is_not_a_deauthorization(hl: Hl, fake: StravaFake) -> None:
    with fake.lock:
        fake.access.clear()  # access tokens refused (401), the refresh token still good
    hl.post(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}))
    assert hl.sync().status == "ok"
    assert hl.tokens() == 1 and get_source(hl.engine, "strava").enabled
    assert len(fake.requests_to(r"^/oauth/token$", "POST")) == 1  # the refresh that proved access still works


def test_a_real_deauthorization_deletes_the_tokens(hl: Hl, fake: StravaFake) -> None:
    fake.revoke()
    hl.post(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}))
    hl.post(fake.event("activity", 1, "delete"))  # pending alongside: dropped with the connection, not applied
    assert hl.sync().status == "needs_reauth"
    src = get_source(hl.engine, "strava")
    assert (src.enabled, src.status) == (False, "needs_reauth") and hl.tokens() == 0
    assert hl.names() == {1: "Tempo"} and hl.outcomes() == ["deauthorized", "deauthorized"]


def test_forged_update_cannot_rename(hl: Hl, fake: StravaFake) -> None:
    hl.post(fake.event("activity", 1, "update", {"title": "pwned <script>", "type": "Ride"}))
    hl.sync()
    assert hl.names() == {1: "Tempo"}  # the values come from Strava, which still says "Tempo"
    with hl.engine.connect() as conn:
        assert conn.execute(select(activities.c.sport)).scalar() == "running"
    fake.edit(1, name="Tempo 2x20")  # a real rename
    hl.post(fake.event("activity", 1, "update", {"title": "ignored anyway"}, event_time=int(time.time()) + 1))
    hl.sync()
    assert hl.names() == {1: "Tempo 2x20"}


def test_a_text_plain_post_is_refused_and_stores_nothing(hl: Hl, fake: StravaFake) -> None:
    """A page in the user's browser can POST text/plain cross-site without a preflight."""
    body = httpx.Request("POST", "http://x", json=fake.event("activity", 1, "delete")).content
    answer = httpx.post(hl.hook, content=body, headers={"Content-Type": "text/plain"}, timeout=5)
    assert answer.status_code == 415
    assert httpx.post(hl.base + "/webhooks/strava", content=body, headers={"Content-Type": "text/plain"}, timeout=5).status_code == 404
    hl.sync()
    assert hl.outcomes() == [] and hl.names() == {1: "Tempo"}


def test_known_and_unknown_ids_get_identical_answers(hl: Hl, fake: StravaFake) -> None:
    def seen(answer: httpx.Response) -> tuple[int, bytes, str | None]:
        return answer.status_code, answer.content, answer.headers.get("content-type")

    known = hl.post(fake.event("activity", 5, "create"))
    answers = {
        "known": known,
        "again": hl.post(fake.event("activity", 5, "create")),
        "unknown subscription": hl.post(fake.event("activity", 6, "create", subscription_id=hl.sid + 1)),
        "unknown athlete": hl.post(fake.event("activity", 7, "create", owner_id=fake.athlete_id + 1)),
        "stored activity": hl.post(fake.event("activity", 1, "create")),
    }
    assert {seen(a) for a in answers.values()} == {(200, b'{"received":true}', "application/json")}
    with hl.engine.connect() as conn:
        assert [r.object_id for r in conn.execute(select(strava_events.c.object_id))] == [5]  # only the real one was kept
    assert hl.woken == ["strava"]


def test_wrong_secret_and_the_old_bare_path_are_404_like_any_unknown_path(hl: Hl, fake: StravaFake) -> None:
    nowhere = httpx.post(hl.base + "/no/such/path", json={}, timeout=5)
    assert nowhere.status_code == 404
    secret = hl.hook.rsplit("/", 1)[1]
    wrong = hl.base + "/webhooks/strava/" + secret[:-1] + ("A" if secret[-1] != "A" else "B")
    event = fake.event("activity", 1, "delete")
    for url in (wrong, hl.base + "/webhooks/strava", hl.base + "/webhooks/strava/strava"):
        posted, got = hl.post(event, url), httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "c"}, timeout=5)
        assert (posted.status_code, posted.content) == (got.status_code, got.content) == (404, nowhere.content), url
    hl.sync()
    assert hl.outcomes() == []


def test_an_old_bare_path_subscription_is_answered_404_until_subscribe_runs_again(hl: Hl, fake: StravaFake) -> None:
    with hl.engine.begin() as conn:  # what a store from before issue 13 holds
        conn.execute(update(strava_subscription).values(callback_url=hl.base + "/webhooks/strava"))
    event = fake.event("activity", 1, "delete")
    assert hl.post(event, hl.base + "/webhooks/strava").status_code == 404
    assert hl.post(event).status_code == 404  # no secret stored: nothing is accepted
    sid = subscribe(hl.engine, source_env(hl.settings), hl.base + "/webhooks/strava")  # the fix: subscribe again
    assert list(fake.subscriptions) == [sid] and hl.post(event, fake.subscriptions[sid]["callback_url"]).status_code == 200


def test_verify_token_is_compared_in_constant_time(hl: Hl, monkeypatch: pytest.MonkeyPatch) -> None:
    with hl.engine.connect() as conn:
        token = str(conn.execute(select(strava_subscription.c.verify_token)).scalar())
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", recording)  # the stdlib function, recorded and still used
    params = {"hub.mode": "subscribe", "hub.challenge": "c1"}
    assert httpx.get(hl.hook, params={**params, "hub.verify_token": token[:-1]}, timeout=5).status_code == 403
    ok = httpx.get(hl.hook, params={**params, "hub.verify_token": token}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"hub.challenge": "c1"}
    assert (token[:-1].encode(), token.encode()) in compared and (token.encode(), token.encode()) in compared


def test_an_expired_oauth_state_is_refused_and_nothing_is_stored(hl: Hl, fake: StravaFake) -> None:
    state, url = begin(hl.engine, source_env(hl.settings), "bob", "strava2")
    with hl.engine.begin() as conn:
        conn.execute(update(strava_oauth_pending).where(strava_oauth_pending.c.state == state).values(created_ts=time.time() - 3601))
    page = httpx.get(url, follow_redirects=True, timeout=10)  # Strava redirects to the service's /oauth/strava/callback
    assert page.status_code == 400 and "expired" in page.text
    assert fake.requests_to("^/oauth/token$", "POST") == []  # the code was never exchanged
    with hl.engine.connect() as conn:
        assert conn.execute(select(sources.c.name).where(sources.c.name == "strava2")).first() is None
    state, url = begin(hl.engine, source_env(hl.settings), "bob", "strava2")  # a fresh one still connects
    page = httpx.get(url, follow_redirects=True, timeout=10)
    assert page.status_code == 200 and get_source(hl.engine, "strava2") is not None


def test_a_create_flood_cannot_spend_the_rate_budget(hl: Hl, fake: StravaFake) -> None:
    for i in range(10):  # forged creates of ids Strava does not have, each sent twice
        for _ in range(2):
            hl.post(fake.event("activity", 9000 + i, "create", event_time=int(time.time()) + i * 10 + _))
    hl.post(fake.event("activity", 1, "create"))  # already stored: not even queued
    before = len(fake.requests_to(r"^/api/v3/activities/"))
    hl.sync()
    assert len(fake.requests_to(r"^/api/v3/activities/")) - before == 3  # webhook_creates_per_sync = 3
    with hl.engine.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(strava_events)).scalar()
        waiting = conn.execute(select(func.count()).select_from(strava_events).where(strava_events.c.processed_ts.is_(None))).scalar()
    assert (queued, waiting) == (10, 7)  # coalesced by object id; the rest waits for later syncs


def test_a_forged_create_of_someone_elses_activity_is_not_stored(hl: Hl, fake: StravaFake) -> None:
    fake.add(*synthetic_run(55, T0 + timedelta(hours=5), name="Not mine", athlete_id=fake.athlete_id + 1))
    hl.post(fake.event("activity", 55, "create"))
    hl.sync()
    assert hl.outcomes() == ["not this athlete's activity"] and 55 not in hl.names()
    assert fake.requests_to(r"^/api/v3/activities/55/streams$") == []


def test_the_pending_queue_is_capped(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    service = Hl(engine, strava_settings(settings, fake, webhook_max_pending=2), fake)
    try:
        for i in range(4):
            assert service.post(fake.event("activity", 100 + i, "delete")).json() == {"received": True}
        service.post(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}))  # never crowded out
        service.post(fake.event("athlete", fake.athlete_id, "update", {"authorized": "false"}, event_time=int(time.time()) + 9))  # one is enough
        with engine.connect() as conn:
            assert [r.object_id for r in conn.execute(select(strava_events.c.object_id).order_by(strava_events.c.id))] == [100, 101, fake.athlete_id]
    finally:
        service.stop()
