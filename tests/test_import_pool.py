"""The importer chooses its decoder pool by batch size: none for a small batch, one for a big one."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from heavylegs import importer as importer_mod
from heavylegs.import_worker import pool_context
from heavylegs.importer import Importer, _counted
from heavylegs.service.envs import import_env
from heavylegs.settings import Settings
from heavylegs.store.tables import activities
from ingest.limits import Limits
from ingest.walk import iter_items
from tests import hostile
from tests.synth import day, gpx_run


def _folder(tmp_path: Path, n: int) -> Path:
    for i in range(n):
        hostile.write(tmp_path / f"run{i:02d}.gpx", gpx_run(day(i), duration_s=300, step_s=10))
    return tmp_path


def _run(engine: Engine, settings: Settings, folder: Path) -> tuple[Importer, int]:
    imp = Importer(engine, import_env(settings), "me", workers=2)
    items, total = _counted(iter_items([folder], Limits()))
    imp.batch_size = total
    pools: list[object] = []
    start = imp._start_pool

    def counted_start():  # type: ignore[no-untyped-def]
        pools.append(start())
        return pools[-1]

    imp._start_pool = counted_start  # type: ignore[method-assign]
    report = imp.run(items, None, total)
    assert report.failed == [] and report.imported == total
    return imp, len(pools)


def test_a_small_batch_never_starts_a_pool(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    _, pools = _run(engine, settings, _folder(tmp_path, 6))
    assert pools == 0


def test_a_big_batch_decodes_in_a_pool(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer_mod, "POOL_MIN_FILES", 5)  # a "big" batch that stays quick to test
    _, pools = _run(engine, settings, _folder(tmp_path, 8))
    assert pools == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(activities)).scalar() == 8


def test_workers_fork_only_without_threads() -> None:
    import threading

    alone = threading.active_count() == 1  # pytest-xdist workers may run threads of their own
    assert pool_context("heavylegs.import_worker").get_start_method() == ("fork" if alone else "forkserver")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert pool_context("heavylegs.import_worker").get_start_method() == "forkserver"
    finally:
        stop.set()
        thread.join()
