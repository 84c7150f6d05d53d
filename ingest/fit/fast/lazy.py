"""``FitMessages.messages`` for the fast decoder: each message type is decoded on first access.

On the real running files, building Python dicts for thousands of hrv,
gps_metadata and developer messages that nobody reads was half of the decode
time. The names (and their order, that of first appearance in the file) are
known from the profile without decoding anything, so ``set(messages)``,
``"lap" in messages`` and ``len(messages)`` cost nothing; the values of one
name are built the first time that name is read, exactly as the eager path
built them, and kept.

A message type the fast path cannot mirror raises ``FastPathUnsupported`` on
that first read, not in ``read_messages``. ``ingest.fit.read_messages`` (auto
mode) sets ``fallback``, so the reference decoder then answers for the file.
Pickling gives a plain dict of every message (it decodes them all).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import Messages
from ingest.fit.fast.generic import decode_group

Fields = dict[str, Any]


def decode_name(groups: list[Messages], compressed_ts: np.ndarray | None) -> list[Fields]:
    """Every message of one name (possibly several layouts), in file order."""
    chunks = [decode_group(m, compressed_ts) for m in groups]
    items = chunks[0] if len(chunks) == 1 else sorted((i for c in chunks for i in c), key=lambda item: item[0])
    return [fields for _, _, fields in items]


class LazyMessages(MutableMapping[str, list[Fields]]):
    """name -> messages, decoded on first access; names in order of first appearance."""

    def __init__(self, pending: dict[str, list[Messages]], compressed_ts: np.ndarray | None) -> None:
        self._names = list(pending)
        self._pending = pending
        self._done: dict[str, list[Fields]] = {}
        self._ts = compressed_ts
        # Called with the FastPathUnsupported of a message type: the reference's messages.
        self.fallback: Callable[[FastPathUnsupported], dict[str, list[Fields]]] | None = None

    def __getitem__(self, name: str) -> list[Fields]:
        if name in self._done:
            return self._done[name]
        groups = self._pending.get(name)
        if groups is None:
            raise KeyError(name)
        try:
            value = decode_name(groups, self._ts)
        except FastPathUnsupported as exc:
            if self.fallback is None:
                raise
            value = self.fallback(exc).get(name, [])
        self._done[name] = value
        del self._pending[name]
        return value

    def __setitem__(self, name: str, value: list[Fields]) -> None:
        if name not in self._done and name not in self._pending:
            self._names.append(name)
        self._pending.pop(name, None)
        self._done[name] = value

    def __delitem__(self, name: str) -> None:
        if name not in self._done and name not in self._pending:
            raise KeyError(name)
        self._names.remove(name)
        self._pending.pop(name, None)
        self._done.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._done or name in self._pending

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"LazyMessages(decoded={list(self._done)}, pending={list(self._pending)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self.items()),))
