"""The Garmin plug-in on both stores (SQLite and PostgreSQL): connect, sync, backfill, disconnect --purge."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

from heavylegs.service.envs import source_env
from heavylegs.settings import Settings
from heavylegs.sources.base import BackfillOptions, SourceError
from heavylegs.sources.registry import get_kind
from heavylegs.sources.store import get_source, remove_source
from heavylegs.sources.tables import garmin_activities, source_credentials
from heavylegs.store.tables import activities, activity_sources
from tests.garmin_fake import GarminFake
from tests.test_garmin_cli import KEY, synth


@pytest.fixture
def fake() -> Iterator[GarminFake]:
    f = GarminFake(min_interval_s=0.05).start()
    f.add_key(KEY)
    try:
        yield f
    finally:
        f.stop()


def _count(engine: Engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)


def test_garmin_plugin_on_both_stores(engine: Engine, settings: Settings, fake: GarminFake) -> None:
    cfg = settings.with_overrides({"garmin.api_url": fake.url, "garmin.max_requests_per_minute": 600, "import.workers": 1})
    garmin = get_kind("garmin")
    with pytest.raises(SourceError, match="refused"):
        garmin.connect(engine, source_env(cfg), "g", "me", print, key="wrong")
    garmin.connect(engine, source_env(cfg), "g", "me", print, key=KEY, key_expires=date(2031, 1, 1))
    now = datetime.now(timezone.utc)
    fake.add(synth(1, now - timedelta(days=2)))
    fake.add(synth(2, datetime(2020, 7, 1, 6, tzinfo=timezone.utc)))
    source = get_source(engine, "g")
    assert garmin.status(engine, source_env(cfg), source) == {"key_expires": "2031-01-01"}
    result = garmin.sync(engine, source_env(cfg), source, now)
    assert (result.new, result.status) == (1, "ok")
    report = garmin.backfill(engine, source_env(cfg), source, BackfillOptions(since=date(2020, 6, 1), until=now.date()))
    assert (report.listed, report.already_present, report.fetched, report.status) == (2, 1, 1, "done")
    assert _count(engine, activities) == 2 and _count(engine, activity_sources, activity_sources.c.kind == "garmin") == 2
    removed = remove_source(engine, source_env(cfg), "g", purge=True)
    assert removed["purged_activities"] == 2
    assert _count(engine, activities) == 0 and _count(engine, source_credentials) == 0 and _count(engine, garmin_activities) == 0
