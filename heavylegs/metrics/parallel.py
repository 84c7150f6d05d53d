"""Re-analysing many activities from their streams on every core.

A change to anything read from the streams (run thresholds, GAP, TRIMP
constants, HRmax/HRrest) re-analyses every run: stream decompression, split
speeds, grade smoothing and medians, a few milliseconds per run on one core.
A big batch is split in chunks: this process reads the rows (each chunk in its
own short transaction, as ``stream_batches`` does), hands most chunks to a pool
of one process fewer than cores, which decompress the streams and analyse
them, and analyses its share of the chunks itself. A small batch (one new run)
stays in this process, where starting a pool would cost more than it saves.
The results are the same either way: ``analyse_activity`` is a pure function
of the activity's row, its streams, the settings and the anchors.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy import Engine, select

from heavylegs.import_worker import pool_context
from heavylegs.metrics.activity import DETAIL_COLS, ActivityInfo, analyse_activity
from heavylegs.metrics.anchors import Anchors
from heavylegs.metrics.config import AnalysisConfig
from heavylegs.metrics.derived import Entry
from heavylegs.metrics.store import stream_batches
from heavylegs.store.streams import decode_streams
from heavylegs.store.tables import activities

# Below this many activities the pool's start (a forkserver importing the analysis, then
# the workers) costs more than the second core saves (benchmarks/bench_recompute.py).
POOL_MIN_ACTIVITIES = 200
CHUNK = 48  # activities per job: small enough to spread evenly, big enough to amortise pickling


def analyse_chunk(items: list[tuple[ActivityInfo, bytes | None]], cfg: AnalysisConfig, anchors: Anchors) -> list[dict[str, Any]]:
    """The metric rows of a chunk, in order (runs in a worker)."""
    return [analyse_activity(info, decode_streams(blob), cfg, anchors) for info, blob in items]


def _blob_batches(engine: Engine, todo: list[Entry]) -> Iterator[list[tuple[Entry, bytes | None]]]:
    """(entry, compressed streams) per chunk; the detail columns are set on the entries here."""
    cols = [activities.c[k] for k in ("id", "streams_z") + DETAIL_COLS]
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i : i + CHUNK]
        with engine.connect() as conn:
            rows = {r[0]: r for r in conn.execute(select(*cols).where(activities.c.id.in_([e.info.id for e in chunk])))}
            conn.rollback()
        out = []
        for e in chunk:
            row = rows.get(e.info.id)
            if row is None:
                continue  # deleted meanwhile; the next recompute sees it gone
            for k, v in zip(DETAIL_COLS, row[2:]):
                setattr(e.info, k, v)
            out.append((e, row[1]))
        yield out


def analyse_all(engine: Engine, todo: list[Entry], cfg: AnalysisConfig, anchors: Anchors, workers: int | None = None) -> None:
    """Set ``entry.m`` for every entry of ``todo`` from its streams; a pool when the batch is big."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(todo) < POOL_MIN_ACTIVITIES:
        for batch in stream_batches(engine, todo):
            for entry, streams in batch:
                entry.m = analyse_activity(entry.info, streams, cfg, anchors)
        return
    ctx = pool_context(__name__)  # fork without threads; a forkserver in the service
    pending: deque[tuple[list[tuple[Entry, bytes | None]], Future[list[dict[str, Any]]]]] = deque()

    def collect() -> None:
        chunk, job = pending.popleft()
        try:
            rows = job.result()
        except BrokenProcessPool:  # a worker killed (memory): this chunk here, the rest too
            rows = analyse_chunk([(e.info, blob) for e, blob in chunk], cfg, anchors)
        for (entry, _), row in zip(chunk, rows):
            entry.m = row

    def here(items: list[tuple[ActivityInfo, bytes | None]]) -> Future[list[dict[str, Any]]]:
        done: Future[list[dict[str, Any]]] = Future()
        done.set_result(analyse_chunk(items, cfg, anchors))
        return done

    # One process fewer than cores: this process analyses every ``workers``-th chunk itself
    # instead of waiting, so the same cores are busy with one process less in memory.
    with ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
        for i, chunk in enumerate(_blob_batches(engine, todo)):
            items = [(e.info, blob) for e, blob in chunk]
            if i % workers == workers - 1:
                job = here(items)
            else:
                try:
                    job = pool.submit(analyse_chunk, items, cfg, anchors)
                except BrokenProcessPool:
                    job = here(items)
            pending.append((chunk, job))
            while len(pending) > 2 * workers:  # bounded: a few chunks of blobs in flight
                collect()
        while pending:
            collect()
