"""Per-message timestamp state that fitdecode carries from message to message.

* Compressed-timestamp headers add a 5-bit rolling offset to an accumulator
  that any message's ``timestamp`` field (number 253) resets, and that every
  chained file starts at 0.
* ``_last_timestamp`` (used by fitdecode's ``hr`` expansion, which must not be
  asked to do something that would crash it) is the last valid field 253.

Both are computed for all messages at once, indexed by file-order position.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import INT_IDS, Messages, invalid_mask


class Timeline:
    def __init__(self, total: int, chain_starts: list[int], groups: list[Messages]) -> None:
        self.total = total
        self.groups = groups
        self.reset = np.zeros(total, dtype=bool)
        self.reset[[s for s in chain_starts if s < total]] = True
        self.comp = np.zeros(total, dtype=bool)
        self.offset = np.zeros(total, dtype=np.int64)
        for m in groups:
            if m.compressed.any():
                self.comp[m.seq[m.compressed]] = True
                self.offset[m.seq[m.compressed]] = m.header_offsets()[m.compressed]
            for fl in m.definition.fields:
                if fl.num == 253 and (fl.base.identifier not in INT_IDS or fl.size != fl.base.size):
                    raise FastPathUnsupported("odd timestamp field")

    @cached_property
    def _stamps(self) -> tuple[np.ndarray, np.ndarray]:
        """(has a valid field 253, its last valid value) per message. Only compressed
        headers and hr need them, so a plain file never gathers its timestamps here."""
        has_ts = np.zeros(self.total, dtype=bool)
        ts = np.zeros(self.total, dtype=np.int64)
        for m in self.groups:
            for fl in m.definition.fields:
                if fl.num != 253:
                    continue
                raw = m.column(fl)
                valid = ~invalid_mask(fl, raw)
                seq = m.seq[valid]
                ts[seq] = raw[valid].astype(np.int64)
                has_ts[seq] = True
        return has_ts, ts

    @property
    def has_ts(self) -> np.ndarray:
        return self._stamps[0]

    @property
    def ts(self) -> np.ndarray:
        return self._stamps[1]

    def compressed(self) -> np.ndarray | None:
        """Resolved raw timestamps of compressed-header messages (indexed by position)."""
        if not self.comp.any():
            return None
        starts = self.reset | self.has_ts
        segment = np.cumsum(starts) - 1
        base = np.where(self.has_ts, self.ts, 0)[np.flatnonzero(starts)]
        idx = np.flatnonzero(self.comp)
        seg = segment[idx]
        first = np.ones(idx.size, dtype=bool)
        first[1:] = seg[1:] != seg[:-1]
        off = self.offset[idx]
        prev = np.empty_like(off)
        prev[1:] = off[:-1]
        prev[first] = base[seg[first]] & 0x1F
        delta = (off - prev) & 0x1F
        total = np.cumsum(delta)
        start = np.maximum.accumulate(np.where(first, np.arange(idx.size), 0))
        out = np.full(self.total, -1, dtype=np.int64)
        out[idx] = base[seg] + total - total[start] + delta[start]
        return out

    def last_before(self) -> np.ndarray:
        """fitdecode's ``_last_timestamp`` just before each message (0 at a chain start)."""
        starts = self.reset | self.has_ts
        segment = np.cumsum(starts) - 1
        values = np.where(self.has_ts, self.ts, 0)[np.flatnonzero(starts)]
        after = values[segment]  # state after each message
        before: np.ndarray = np.empty_like(after)
        before[0] = 0
        before[1:] = after[:-1]
        before[self.reset] = 0
        return before
