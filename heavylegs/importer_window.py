"""The importer's decode-ahead window, bounded by count and by bytes (issue 13, finding 9).

The importer reads files ahead of the writer so the decode workers stay busy.
Bounded only by a count per core, a crafted zip of 8 x 99 MiB members held them
all (1.1 GB with 4 workers). The window is therefore bounded by bytes too:
before the next file is read, files are written until what reading and
decoding it costs fits under ``import.window_bytes``, whatever the core count.

What a file costs is counted where it lives: once while it is read (twice for
a zip member, whose inflated blocks are joined at the end; plus the inflated
file when it is gzipped), and three times once handed to a worker (this
process's copy, the pickled copy in transit and the worker's). A file whose
worker copies would take over half the window is decoded in this process
instead: for such a file the copies cost more memory than the parallelism gains.
One file alone always fits (the limit is at least ``max_file_bytes``).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ingest.item import Item
from ingest.limits import Limits

WINDOW_BYTES = 128 * 1024 * 1024  # the default of import.window_bytes
POOL_COPIES = 3  # a file in a worker: our copy, the pickle in transit, the worker's copy


def item_size(item: Item, limits: Limits) -> int:
    """The bytes the item holds before any gunzip; the file limit when not known yet."""
    if item.payload is not None:
        return len(item.payload)
    return min(item.size if item.size is not None else limits.max_file_bytes, limits.max_file_bytes)


def read_cost(item: Item, limits: Limits) -> int:
    """Bytes that reading ``item`` holds at its peak."""
    if item.error is not None or item.skip is not None:
        return 0
    return item_size(item, limits) * (2 if item.inflates else 1) + (limits.max_file_bytes if item.gz else 0)


def in_process(size: int, limit: int) -> bool:
    """True when a file of ``size`` bytes is decoded in this process, never by a worker."""
    return size * POOL_COPIES * 2 > limit


@dataclass
class Entry:
    item: Item
    sha: str
    data: bytes
    job: Any  # Future[Decoded] | Decoded
    cost: int


class Window:
    """Files read and handed to a decoder, oldest first, with the bytes they cost."""

    def __init__(self, limit: int, max_files: int, limits: Limits) -> None:
        self.limit = limit
        self.max_files = max_files
        self.limits = limits
        self.entries: deque[Entry] = deque()
        self.held = 0
        self.peak = 0  # the most bytes held at once, for the report and the tests

    def __len__(self) -> int:
        return len(self.entries)

    def need(self, item: Item) -> int:
        size = item_size(item, self.limits)
        pool = 0 if in_process(size, self.limit) or item.error is not None or item.skip is not None else size * POOL_COPIES
        return max(read_cost(item, self.limits), pool)

    def full_for(self, item: Item) -> bool:
        """Must the oldest file be written before ``item`` is read?"""
        return bool(self.entries) and (self.held + self.need(item) > self.limit or len(self.entries) >= self.max_files)

    def has(self, sha: str) -> bool:
        return any(e.sha == sha for e in self.entries)

    def push(self, item: Item, sha: str, data: bytes, job: Any) -> None:
        cost = len(data) * (POOL_COPIES if isinstance(job, Future) else 1)
        self.entries.append(Entry(item, sha, data, job, cost))
        self.held += cost
        self.peak = max(self.peak, self.held)

    def pop(self) -> Entry:
        entry = self.entries.popleft()
        self.held -= entry.cost
        return entry
