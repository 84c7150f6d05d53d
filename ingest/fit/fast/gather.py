"""Gathering one definition's messages into numpy arrays in a single fancy-index.

All messages of one layout (definitions with identical fields are merged)
become one (n, size) uint8 matrix; fields are column slices viewed with the declared base type
and byte order. Invalid values follow fitdecode's base-type parsers.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from fitdecode import types as fit_types

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.scan import Definition, FieldLayout, Layout

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

    def __init__(self, layout: Layout, definition: Definition, seq: np.ndarray) -> None:
        self.definition = definition
        self.seq = seq  # positions in file order (indexes into layout.msg_pos)
        self.offsets = layout.msg_pos[seq]
        self.n = int(seq.size)
        self._buf = layout.buf
        self.headers = layout.buf[self.offsets]
        self.compressed = (self.headers & 0x80) != 0

    @cached_property
    def rows(self) -> np.ndarray:
        """The (n, size) byte matrix, gathered only when a field is read: the
        messages nobody asks for (hrv, gps_metadata...) never pay for it."""
        rows: np.ndarray = self._buf[self.offsets[:, None] + np.arange(self.definition.size, dtype=np.intp)]
        return rows

    def column(self, field: FieldLayout) -> np.ndarray:
        """Raw values as declared: shape (n,) for scalars, (n, k) for arrays and bytes."""
        block: np.ndarray = np.ascontiguousarray(self.rows[:, field.offset : field.offset + field.size])
        ident = field.base.identifier
        if ident in (BYTE_ID, STRING_ID) or ident not in _NUMPY:
            return block
        kind, _ = _NUMPY[ident]
        dtype = np.dtype((">" if self.definition.big_endian else "<") + kind)
        values: np.ndarray = block.view(dtype)
        out: np.ndarray = values[:, 0] if values.shape[1] == 1 else values
        return out

    def header_offsets(self) -> np.ndarray:
        """The 5-bit time offsets of compressed-timestamp headers (garbage elsewhere)."""
        offsets: np.ndarray = (self.headers & 0x1F).astype(np.int64)
        return offsets


def invalid_mask(field: FieldLayout, values: np.ndarray) -> np.ndarray:
    """True where fitdecode parses the (scalar) value as None."""
    kind, invalid = _NUMPY[field.base.identifier]
    mask: np.ndarray = np.isnan(values) if kind[0] == "f" else values == np.array(invalid).astype(values.dtype)
    return mask


def is_scalar_number(field: FieldLayout) -> bool:
    return field.base.identifier in _NUMPY and field.size == field.base.size


def bytes_le(block: np.ndarray) -> np.ndarray:
    """Little-endian integer of each row of a byte block (as fitdecode's component render)."""
    if block.shape[1] > 7:
        raise FastPathUnsupported("byte field too wide for a component")
    weights = (np.int64(1) << (8 * np.arange(block.shape[1], dtype=np.int64)))
    ints: np.ndarray = (block.astype(np.int64) * weights).sum(axis=1)
    return ints


def python_values(m: Messages, fl: FieldLayout, scale: float | None = None) -> list[Any]:
    """fitdecode's raw value of one field for every message; with ``scale``, float(raw) / scale.

    None where invalid, tuples for arrays and byte fields, str for strings.
    """
    ident = fl.base.identifier
    block = m.column(fl)
    if ident == STRING_ID:
        if scale:
            raise FastPathUnsupported("scaled string field")
        return [fit_types.parse_string(row) for row in map(bytes, block)]
    if ident == BYTE_ID:
        if scale:
            raise FastPathUnsupported("scaled byte field")
        dead = np.all(block == 0xFF, axis=1).tolist()
        return [None if d else tuple(row) for d, row in zip(dead, block.tolist())]
    bad = invalid_mask(fl, block)
    # Same IEEE division as fitdecode's float(raw) / scale, done on the whole column.
    values = block.astype(np.float64) / scale if scale else block
    if is_scalar_number(fl):
        return [None if b else v for b, v in zip(bad.tolist(), values.tolist())]
    cells = values.astype(object)  # Python ints/floats, so that None can sit among them
    cells[bad] = None
    return list(map(tuple, cells.tolist()))
