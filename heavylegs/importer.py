"""Files -> store: walk, hash, skip what is known, decode in worker processes,
write each file in its own transaction with a single writer.

A file is one transaction (raw bytes, activities, sources, outcome), so a
crash or ``kill -9`` leaves whole files or nothing, and the same import run
again skips every file it already stored by its sha256.
"""
from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import Engine, select

from heavylegs.import_report import FileOutcome, ImportReport
from heavylegs.import_worker import Decoded, decode_job, ready
from heavylegs.importer_window import WINDOW_BYTES, Window, in_process
from heavylegs.settings_schema import DedupSection, ImportSection
from heavylegs.settings_views import Athletes
from heavylegs.store.activities import SourceRef, add_source, apply_hints, get_or_create_athlete, store_activity
from heavylegs.store.db import read
from heavylegs.store.matching import MatchRules
from heavylegs.store.raw import record_outcome, store_raw
from heavylegs.store.tables import activity_sources, file_outcomes
from ingest.errors import IngestError, NotAnActivity
from ingest.item import Item
from ingest.limits import Limits
from ingest.walk import iter_items, load_bytes

Progress = Callable[[int, "int | None", str], None]
IN_PROCESS_FIRST = 4  # small batches (a service scan) never pay for a process pool
# A batch known to hold fewer files than this is decoded in this process: starting the
# pool (forkserver, workers importing numpy and the decoders) costs more than the second
# core saves. Measured with benchmarks/bench_startup.py (its break-even table).
POOL_MIN_FILES = 32


@dataclass(frozen=True)
class ImportEnv:
    """What an import reads: ``[import]`` (limits, window, workers), ``[dedup]`` and each athlete's zone."""

    limits: ImportSection
    dedup: DedupSection
    athletes: Athletes

    @property
    def rules(self) -> MatchRules:
        """When two activities are the same run (``[dedup]``)."""
        return MatchRules.from_settings(self.dedup.model_dump())


class _Known:
    """What the store already holds, loaded once so a re-import touches no decoder."""

    def __init__(self, engine: Engine) -> None:
        with read(engine) as conn:
            rows = conn.execute(select(activity_sources.c.sha256, activity_sources.c.ref, activity_sources.c.activity_id).where(activity_sources.c.kind == "file"))
            self.activity: dict[str, int] = {}
            self.refs: set[tuple[str, str]] = set()
            for sha, ref, act in rows:
                self.activity.setdefault(sha, int(act))
                self.refs.add((sha, ref))
            self.skipped = {sha: reason for sha, reason in conn.execute(select(file_outcomes.c.sha256, file_outcomes.c.reason).where(file_outcomes.c.status == "skipped"))}


class Importer:
    def __init__(self, engine: Engine, env: ImportEnv, athlete: str, source_id: int | None = None, workers: int | None = None) -> None:
        self.engine = engine
        self.limits = Limits.from_mapping(env.limits.model_dump())
        self.window_limit = max(int(env.limits.window_bytes or WINDOW_BYTES), self.limits.max_file_bytes)
        self.rules = env.rules
        self.default_tz = env.athletes.zone_name(athlete)
        self.source_id = source_id
        configured = env.limits.workers
        self.workers = workers if workers is not None else (configured or os.cpu_count() or 1)
        with engine.begin() as conn:
            self.athlete_id = get_or_create_athlete(conn, athlete)
        self.known = _Known(engine)
        self._pool: ProcessPoolExecutor | None = None
        self._decoded_in_process = 0
        self.batch_size: int | None = None  # files in this batch, when listed up front

    def _start_pool(self) -> ProcessPoolExecutor:
        # Only big batches get here, so the workers' start is amortised: they come from a
        # forkserver that imports just the decoders (not a fork of this process), which
        # keeps each worker's memory small and is safe in the threaded service.
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload(["heavylegs.import_worker"])
        pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        pool.submit(ready)  # the workers start now, while this process decodes the first files
        return pool

    def _decode(self, data: bytes, item: Item) -> Future[Decoded] | Decoded:
        small = self.batch_size is not None and self.batch_size < POOL_MIN_FILES
        if self.workers <= 1 or small or self._decoded_in_process < IN_PROCESS_FIRST:
            if self._pool is None and self.workers > 1 and not small and self.batch_size is not None:
                self._pool = self._start_pool()
            self._decoded_in_process += 1
            return decode_job(data, item.fmt, item.hints, self.default_tz)
        if self._pool is None:
            self._pool = self._start_pool()
        try:
            return self._pool.submit(decode_job, data, item.fmt, item.hints, self.default_tz)
        except BrokenProcessPool:  # a worker died since the last result: files in flight retry in _result
            self._pool.shutdown(wait=False)
            self._pool = self._start_pool()
            return self._pool.submit(decode_job, data, item.fmt, item.hints, self.default_tz)

    def _prepare(self, item: Item) -> tuple[FileOutcome | None, bytes | None, str | None]:
        """An outcome decided without decoding, or the bytes and sha256 to decode."""
        if item.error is not None:
            return FileOutcome(item.display, "failed", item.error.reason), None, None
        if item.skip is not None:
            return FileOutcome(item.display, "skipped", item.skip), None, None
        try:
            data = load_bytes(item, self.limits)
        except IngestError as exc:
            # A FIFO or device swapped in after the walk looked is skipped, like one seen there.
            return FileOutcome(item.display, "skipped" if isinstance(exc, NotAnActivity) else "failed", exc.reason), None, None
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.known.activity:
            act = self.known.activity[sha]
            if (sha, item.display) not in self.known.refs:
                self._link(act, item, sha)
            return FileOutcome(item.display, "duplicate", "same file already imported", sha, act), None, None
        if sha in self.known.skipped:
            return FileOutcome(item.display, "skipped", self.known.skipped[sha], sha), None, None
        return None, data, sha

    def _link(self, activity_id: int, item: Item, sha: str) -> None:
        with self.engine.begin() as conn:
            add_source(conn, activity_id, SourceRef("file", item.display, sha, item.fmt, self.source_id))
            apply_hints(conn, activity_id, item.hints)
        self.known.refs.add((sha, item.display))

    def _write(self, item: Item, sha: str, dec: Decoded) -> FileOutcome:
        if dec.status != "ok":
            with self.engine.begin() as conn:
                record_outcome(conn, sha, dec.status, dec.reason or "", item.display)
            if dec.status == "skipped":
                self.known.skipped[sha] = dec.reason or ""
            return FileOutcome(item.display, dec.status, dec.reason, sha)
        fmt = dec.activities[0].format if dec.activities else (item.fmt or "fit")
        src = SourceRef("file", item.display, sha, fmt, self.source_id)
        statuses: list[str] = []
        first_id: int | None = None
        with self.engine.begin() as conn:
            store_raw(conn, sha, fmt, data_z=dec.raw_z, size=None)
            for act, blobs in zip(dec.activities, dec.blobs):
                res = store_activity(conn, self.athlete_id, act, src, self.rules, blobs)
                statuses.append(res.status)
                first_id = first_id if first_id is not None else res.activity_id
            if first_id is not None and len(dec.activities) == 1:
                apply_hints(conn, first_id, item.hints)
        self.known.activity[sha] = first_id if first_id is not None else -1
        self.known.refs.add((sha, item.display))
        warnings = [n for a in dec.activities for n in a.notes]
        status = "imported" if "imported" in statuses else "duplicate"
        reason = None if status == "imported" else "same run already stored (matched on start, duration and distance)"
        return FileOutcome(item.display, status, reason, sha, first_id, warnings)

    def _result(self, job: Future[Decoded] | Decoded, data: bytes, item: Item) -> Decoded:
        """The decode's result; a decoder process that died (killed for memory, a crash in a
        native library) costs a retry in a fresh pool, then that one file, never the batch."""
        if not isinstance(job, Future):
            return job
        for attempt in range(2):
            try:
                return job.result()
            except (BrokenProcessPool, CancelledError):
                if self._pool is not None and getattr(self._pool, "_broken", True):
                    self._pool.shutdown(wait=False)
                    self._pool = None
                if attempt == 0:
                    self._decoded_in_process = IN_PROCESS_FIRST  # retry in a pool, never in this process
                    retry = self._decode(data, item)
                    if not isinstance(retry, Future):
                        return retry
                    job = retry
        return Decoded("failed", "the decoder process died on this file (out of memory or a crash)", [], [], None)

    def run(self, items: Iterator[Item], progress: Progress | None = None, total: int | None = None) -> ImportReport:
        """Decode ahead in a window bounded by count (3 per worker) and by bytes
        (``import.window_bytes``, see importer_window), write in order."""
        report = ImportReport()
        window = Window(self.window_limit, max(2, self.workers * 3), self.limits)

        def drain_one() -> None:
            e = window.pop()
            finish(self._write(e.item, e.sha, self._result(e.job, e.data, e.item)))

        def decode(data: bytes, item: Item) -> Future[Decoded] | Decoded:
            if in_process(len(data), self.window_limit):
                return decode_job(data, item.fmt, item.hints, self.default_tz)
            try:
                return self._decode(data, item)
            except BrokenProcessPool:  # a worker died since the last submit: a fresh pool takes it
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                    self._pool = None
                return self._decode(data, item)

        def finish(outcome: FileOutcome) -> None:
            report.add(outcome)
            if progress:
                progress(len(report.outcomes), total, outcome.path)

        try:
            for item in items:
                while window.full_for(item):
                    drain_one()
                outcome, data, sha = self._prepare(item)
                if outcome is not None:
                    finish(outcome)
                    continue
                assert data is not None and sha is not None
                # A same-sha file twice in one batch must not be decoded twice.
                if window.has(sha):
                    while window:
                        drain_one()
                    outcome, data, sha = self._prepare(item)
                    if outcome is not None:
                        finish(outcome)
                        continue
                    assert data is not None and sha is not None
                window.push(item, sha, data, decode(data, item))
                data = None  # the window holds it: this name must not keep it alive once written
            while window:
                drain_one()
        finally:
            report.window_peak_bytes = window.peak
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        return report


def import_paths(
    engine: Engine,
    env: ImportEnv,
    paths: Sequence[Path | str],
    *,
    athlete: str,
    source_id: int | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import every activity file under ``paths`` for ``athlete``; see ImportReport."""
    importer = Importer(engine, env, athlete, source_id, workers)
    limits = importer.limits
    items, total = _counted(iter_items(list(paths), limits))
    importer.batch_size = total
    return importer.run(items, progress, total)


def _counted(items: Iterator[Item]) -> tuple[Iterator[Item], int | None]:
    """Plain files are listed up front for a progress total. At the first archive member
    listing stops and the rest streams (a member is read from its open archive)."""
    listed: list[Item] = []
    for item in items:
        listed.append(item)
        if item.payload is not None or item.load is not None:
            return itertools.chain(_handed_over(listed), items), None
    return iter(listed), len(listed)


def _handed_over(listed: list[Item]) -> Iterator[Item]:
    """The listed items, each let go once handed over: the list must not keep a member's bytes."""
    listed.reverse()
    while listed:
        yield listed.pop()
