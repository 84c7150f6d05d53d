"""Re-analysis on a process pool gives exactly the rows the single-process path gives."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from heavylegs.metrics import parallel
from heavylegs.metrics.anchors import Anchors
from heavylegs.metrics.config import analysis_config
from heavylegs.metrics.store import load_entries
from heavylegs.service.envs import analysis_env
from heavylegs.settings import Settings
from tests.metrics_synth import athlete_id, run, store

D0 = date(2024, 3, 4)


def _rows(engine: Engine, settings: Settings, pool_min: int, monkeypatch: pytest.MonkeyPatch) -> dict[int, dict]:  # type: ignore[type-arg]
    monkeypatch.setattr(parallel, "POOL_MIN_ACTIVITIES", pool_min)
    monkeypatch.setattr(parallel, "CHUNK", 2)  # several chunks in flight, collected in order
    with engine.connect() as conn:
        entries = load_entries(conn, athlete_id(engine))
    parallel.analyse_all(engine, entries, analysis_config(analysis_env(settings), "me"), Anchors(60.0, "config", 190.0, "config"), workers=2)
    return {e.info.id: {k: v for k, v in e.m.items() if k != "computed_ts"} for e in entries}


def test_pool_and_single_process_give_the_same_rows(engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    acts = [run(D0 + timedelta(days=i), minutes=20 + 5 * i, speed=2.8 + 0.1 * i, hr=140.0 + 3 * i) for i in range(5)]
    ids = store(engine, acts)
    alone = _rows(engine, settings, 10**9, monkeypatch)
    pooled = _rows(engine, settings, 0, monkeypatch)
    assert set(alone) == set(ids)
    assert pooled == alone
    # Something was really analysed: distance and a TRIMP load from the streams.
    assert all(r["distance_m"] and r["distance_m"] > 3000 and r["load_method"] == "trimp" for r in alone.values())
