"""Gathering one definition's messages into numpy arrays in a single fancy-index.

Each definition's messages (from all its segments) become one (n, size)
uint8 matrix; fields are column slices viewed with the declared base type
and byte order. Invalid values follow fitdecode's base-type parsers.
"""
from __future__ import annotations

import numpy as np
from fitdecode import types as fit_types

from ingest.fit.fast_scan import Definition, FieldLayout, Layout, Segment

# base type identifier -> (numpy kind+size, invalid raw value or None for "NaN" / "zero")
_NUMPY: dict[int, tuple[str, int | None]] = {
    0x00: ("u1", 0xFF),
    0x01: ("i1", 0x7F),
    0x02: ("u1", 0xFF),
    0x83: ("i2", 0x7FFF),
    0x84: ("u2", 0xFFFF),
    0x85: ("i4", 0x7FFFFFFF),
    0x86: ("u4", 0xFFFFFFFF),
    0x88: ("f4", None),
    0x89: ("f8", None),
    0x0A: ("u1", 0),
    0x8B: ("u2", 0),
    0x8C: ("u4", 0),
    0x8E: ("i8", 0x7FFFFFFFFFFFFFFF),
    0x8F: ("u8", 0xFFFFFFFFFFFFFFFF),
    0x90: ("u8", 0),
}
BYTE_ID = fit_types.BASE_TYPE_BYTE.identifier
STRING_ID = 0x07
INT_IDS = frozenset(k for k, (kind, _) in _NUMPY.items() if kind[0] in "iu")


class Messages:
    """All messages of one definition: byte rows plus file-order positions."""

    def __init__(self, layout: Layout, definition: Definition, segs: list[Segment]) -> None:
        self.definition = definition
        counts = np.array([s.count for s in segs], dtype=np.intp)
        starts = np.array([s.start for s in segs], dtype=np.intp)
        seqs = np.array([s.seq for s in segs], dtype=np.intp)
        total = int(counts.sum())
        before = np.repeat(np.cumsum(counts) - counts, counts)
        step = np.arange(total, dtype=np.intp) - before
        self.offsets = np.repeat(starts, counts) + step * definition.size
        self.seq = np.repeat(seqs, counts) + step
        self.compressed = np.repeat(np.array([s.compressed for s in segs], dtype=bool), counts)
        self.rows = layout.buf[self.offsets[:, None] + np.arange(definition.size, dtype=np.intp)]
        self.n = total

    def column(self, field: FieldLayout) -> np.ndarray:
        """Raw values as declared: shape (n,) for scalars, (n, k) for arrays and bytes."""
        block = np.ascontiguousarray(self.rows[:, field.offset : field.offset + field.size])
        ident = field.base.identifier
        if ident in (BYTE_ID, STRING_ID) or ident not in _NUMPY:
            return block
        kind, _ = _NUMPY[ident]
        dtype = np.dtype((">" if self.definition.big_endian else "<") + kind)
        values = block.view(dtype)
        return values[:, 0] if values.shape[1] == 1 else values

    def header_offsets(self) -> np.ndarray:
        """The 5-bit time offsets of compressed-timestamp headers (garbage elsewhere)."""
        return (self.rows[:, 0] & 0x1F).astype(np.int64)


def invalid_mask(field: FieldLayout, values: np.ndarray) -> np.ndarray:
    """True where fitdecode parses the (scalar) value as None."""
    kind, invalid = _NUMPY[field.base.identifier]
    if kind[0] == "f":
        return np.isnan(values)
    return values == np.array(invalid).astype(values.dtype)


def is_scalar_number(field: FieldLayout) -> bool:
    return field.base.identifier in _NUMPY and field.size == field.base.size


def bytes_le(block: np.ndarray) -> np.ndarray:
    """Little-endian integer of each row of a byte block (as fitdecode's component render)."""
    if block.shape[1] > 7:
        from ingest.fit.fast_errors import FastPathUnsupported  # noqa: PLC0415

        raise FastPathUnsupported("byte field too wide for a component")
    weights = (np.int64(1) << (8 * np.arange(block.shape[1], dtype=np.int64)))
    return (block.astype(np.int64) * weights).sum(axis=1)
