"""The live Strava sync against the loopback fake: sports, mapping, cursor, tokens, errors."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select

from heavylegs.service.envs import source_env
from heavylegs.service.jobs import sync_source
from heavylegs.settings import Settings
from heavylegs.sources.store import get_source
from heavylegs.store.activities import load_streams
from heavylegs.store.tables import activities, sources
from heavylegs.strava import records
from heavylegs.strava.sync import sync
from heavylegs.strava.tables import strava_activities
from heavylegs.strava.tokens import load_tokens, make_budget, source_client
from tests.strava_fake import FakeClock, StravaFake, seed_connection, strava_settings, synthetic_run

T0 = datetime(2024, 5, 6, 7, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake() -> Iterator[StravaFake]:
    server = StravaFake().start()
    yield server
    server.stop()


def _add_runs(fake: StravaFake, n: int, first_id: int = 1000, **kw: Any) -> list[int]:
    ids = []
    for i in range(n):
        summary, streams = synthetic_run(first_id + i, T0 + timedelta(days=i), **kw)
        fake.add(summary, streams)
        ids.append(first_id + i)
    return ids


def test_sync_fetches_configured_sports_and_maps_streams(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake)
    run = synthetic_run(1, T0, duration_s=2400, distance_m=7000.0)
    treadmill = synthetic_run(2, T0 + timedelta(days=1), trainer=True)
    trail = synthetic_run(3, T0 + timedelta(days=2), sport_type="TrailRun")
    ride = synthetic_run(4, T0 + timedelta(days=3), sport_type="Ride")
    for summary, streams in (run, treadmill, trail, ride):
        fake.add(summary, streams)
    source = seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 3600)
    result = sync_source(engine, settings, int(source.id))
    assert result.error is None and result.counts["new"] == 3
    assert sorted(fake.stream_ids()) == [1, 2, 3]  # the ride's streams are never requested
    with engine.connect() as conn:
        rows = {r.strava_id: r for r in conn.execute(select(activities))}
        assert {k: r.sport for k, r in rows.items()} == {1: "running", 2: "treadmill_running", 3: "trail_running"}
        first = rows[1]
        assert (first.format, first.timezone, first.utc_offset_s, first.tz_source) == ("strava", "Europe/Paris", 3600, "strava")
        assert (first.product, first.name, first.elapsed_s, first.distance_m) == ("Garmin Forerunner 255", "Run 1", 2400.0, 7000.0)
        streams = load_streams(conn, int(first.id))
        assert len(streams) == 60
        # Strava counts one leg: 85 rpm is 170 steps per minute.
        assert set(streams.cadence_spm.tolist()) == {170.0}
        assert streams.lat_deg[0] == pytest.approx(48.85) and streams.time_s[-1] == 2400.0
        raw = conn.execute(select(strava_activities.c.streams_z).where(strava_activities.c.strava_id == 1)).scalar()
        assert records.unpack(raw) == run[1]  # the raw JSON is kept for rebuilds
        cursor = conn.execute(select(sources.c.cursor).where(sources.c.id == source.id)).scalar()
    assert int(cursor) == int((T0 + timedelta(days=3)).timestamp())  # the skipped ride moves the cursor too
    # A second sync finds nothing new and requests no streams.
    again = sync_source(engine, settings, int(source.id))
    assert again.counts["new"] == 0 and len(fake.stream_ids()) == 3


def test_token_expiring_mid_sync_is_refreshed_and_rotation_persisted(engine: Engine, settings: Settings) -> None:
    clock = FakeClock(T0.timestamp() + 40 * 86_400)
    fake = StravaFake(clock=clock, tick_s=60.0, token_lifetime_s=900).start()
    try:
        settings = strava_settings(settings, fake)
        _add_runs(fake, 12)
        source = seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 10)
        first_refresh = next(iter(fake.refresh))
        budget = make_budget(source_env(settings), clock=clock, sleep=clock.advance)
        client, manager = source_client(engine, source_env(settings), int(source.id), budget=budget, clock=clock)
        result = sync(client, engine, source_env(settings), get_source(engine, "strava"), datetime.fromtimestamp(clock(), timezone.utc))
        client.close()
        assert result.status == "ok" and result.new == 12
        # 900 s tokens, 60 s per request and a 300 s margin: a refresh every ~10 requests.
        assert manager.refreshes >= 1 and len(fake.requests_to("^/oauth/token$", "POST")) == manager.refreshes
        assert 401 not in fake.statuses()
        with engine.connect() as conn:
            stored = load_tokens(conn, settings.store_key, int(source.id))
        assert stored is not None and fake.refresh == {stored.refresh_token}  # the live one is what we kept
        assert first_refresh not in fake.refresh  # rotated: the original is spent
    finally:
        fake.stop()


def test_401_marks_needs_reauth_and_is_not_retried(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake)
    _add_runs(fake, 2)
    source = seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 10)
    fake.access.clear()  # revoked on Strava's side while our copy still looks valid
    result = sync_source(engine, settings, int(source.id))
    assert result.error is not None
    assert len([c for c in fake.calls if c.path.startswith("/api/")]) == 1
    assert get_source(engine, "strava").status == "needs_reauth"


def test_refresh_refused_marks_needs_reauth(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake)
    source = seed_connection(engine, settings, fake, expires_in=-10, cursor=0)
    fake.refresh.clear()  # the refresh token was revoked
    result = sync_source(engine, settings, int(source.id))
    assert result.error is not None and get_source(engine, "strava").status == "needs_reauth"
    assert len(fake.requests_to("^/oauth/token$", "POST")) == 1
    assert not [c for c in fake.calls if c.path.startswith("/api/")]


def test_server_errors_are_retried_with_backoff(engine: Engine, settings: Settings, fake: StravaFake) -> None:
    settings = strava_settings(settings, fake)
    _add_runs(fake, 1)
    source = seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 10)
    fake.failures += [(r"/streams$", 503), (r"/streams$", 502)]
    slept: list[float] = []
    client, _ = source_client(engine, source_env(settings), int(source.id), budget=make_budget(source_env(settings), sleep=slept.append))
    result = sync(client, engine, source_env(settings), source, datetime.now(timezone.utc))
    assert result.status == "ok" and result.new == 1
    assert slept == [1.0, 2.0]  # exponential backoff, injected sleep
    assert [c.status for c in fake.requests_to(r"/streams$")] == [503, 502, 200]


def test_a_429_is_respected_not_retried(engine: Engine, settings: Settings) -> None:
    clock = FakeClock(T0.timestamp() + 40 * 86_400 + 60)
    fake = StravaFake(clock=clock, read_limits=(5, 1000)).start()
    try:
        settings = strava_settings(settings, fake)
        _add_runs(fake, 3)
        source = seed_connection(engine, settings, fake, cursor=int(T0.timestamp()) - 10)
        for _ in range(5):  # another client of the same application spent the window
            fake._count(read=True)
        slept: list[float] = []
        client, _ = source_client(engine, source_env(settings), int(source.id), budget=make_budget(source_env(settings), clock=clock, sleep=slept.append), clock=clock)
        result = sync(client, engine, source_env(settings), source, datetime.fromtimestamp(clock(), timezone.utc))
        assert result.status == "ok" and "paused until" in result.summary
        assert fake.statuses() == [429] and slept == []
        # The budget now knows the window is spent: nothing is sent until it resets.
        again = sync(client, engine, source_env(settings), source, datetime.fromtimestamp(clock(), timezone.utc))
        assert "paused" in again.summary and fake.statuses() == [429]
        clock.advance(900)
        done = sync(client, engine, source_env(settings), get_source(engine, "strava"), datetime.fromtimestamp(clock(), timezone.utc))
        client.close()
        assert done.new == 3 and fake.statuses().count(429) == 1
    finally:
        fake.stop()
