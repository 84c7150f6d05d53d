"""FIT's CRC-16 (CRC-16/ARC: poly 0xA001 reflected, init 0, no final xor) with numpy.

A byte-at-a-time Python loop costs ~100 ns per byte, which would dominate the
fast decoder (a 330 kB file = 36 ms). The CRC is linear over GF(2) and starts
from zero, so:

* leading zero bytes do not change it (the input is zero-padded in front to
  whole blocks);
* the CRC of a block of L 16-bit words is the XOR of per-position lookups
  ``M[L-1-j][word_j]``, where ``M[k]`` means "feed this word, then k zero
  words" (a reflected 16-bit CRC consumes a whole 16-bit word in one
  65536-entry table step), so all blocks are done with one gather;
* blocks are then combined pairwise: crc(A || B) = advance(crc(A), len(B)) ^ crc(B),
  with advance() a linear map kept as two 256-entry tables (low/high byte)
  and doubled by composing it with itself at each level.

``binascii.crc_hqx`` is CRC-CCITT (poly 0x1021), a different code, so it
cannot be used.
"""
from __future__ import annotations

import numpy as np

_POLY = 0xA001
_WORDS = 16  # words per block: 16 tables of 65536 uint16 = 2 MiB


def _byte_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE_LIST = _byte_table()


def crc16_py(data: bytes | memoryview, crc: int = 0) -> int:
    """The plain byte loop (used for small inputs and to test the fast path)."""
    table = _TABLE_LIST
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _word_tables() -> np.ndarray:
    """M[k][w]: CRC register after feeding word w (from register 0) then k zero words."""
    table = np.array(_TABLE_LIST, dtype=np.uint16)
    reg = np.arange(65536, dtype=np.uint16)
    step = reg
    for _ in range(2):  # a whole word is two byte steps
        step = (step >> 8) ^ table[step & 0xFF]
    tables = np.empty((_WORDS, 65536), dtype=np.uint16)
    tables[0] = step
    for k in range(1, _WORDS):
        tables[k] = step[tables[k - 1]]
    return tables


_M = _word_tables()
# Flattened and reversed so that column j of a block indexes table L-1-j.
_M_FLAT = _M[::-1].reshape(-1).copy()
_COL_BASE = (np.arange(_WORDS, dtype=np.intp) * 65536)[None, :]
_BYTE = np.arange(256, dtype=np.intp)
# advance(c) by one block: M[L-1] (feed c then L-1 zero words) as low/high byte tables.
_ADV_BLOCK = (_M[_WORDS - 1][_BYTE], _M[_WORDS - 1][_BYTE << 8])
_SMALL = 1024  # below this the byte loop is faster than the numpy set-up


def _apply(tables: tuple[np.ndarray, np.ndarray], crcs: np.ndarray) -> np.ndarray:
    low, high = tables
    out: np.ndarray = low[crcs & 0xFF] ^ high[crcs >> 8]
    return out


def _double(tables: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Tables for feeding twice as many zero bytes: the map composed with itself."""
    return _apply(tables, tables[0]), _apply(tables, tables[1])


_LEVELS: list[tuple[np.ndarray, np.ndarray]] = [_ADV_BLOCK]


def _level(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables advancing a CRC by 2**k blocks (built once, by doubling)."""
    while len(_LEVELS) <= k:
        _LEVELS.append(_double(_LEVELS[-1]))
    return _LEVELS[k]


def crc16(data: bytes | memoryview | np.ndarray) -> int:
    """CRC-16 of ``data`` as the FIT SDK computes it (start value 0)."""
    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    n = int(buf.size)
    if n < _SMALL:
        return crc16_py(buf.tobytes())
    block = 2 * _WORDS
    pad = (-n) % block
    if pad:
        buf = np.concatenate([np.zeros(pad, dtype=np.uint8), buf])
    words = buf.view("<u2").reshape(-1, _WORDS).astype(np.intp)
    words += _COL_BASE
    values = _M_FLAT[words]
    # Column by column: XOR-reducing along a row of 16 is several times slower in numpy.
    crcs = values[:, 0].astype(np.intp)
    for j in range(1, _WORDS):
        crcs ^= values[:, j]
    level = 0
    while crcs.size > 1:
        if crcs.size & 1:  # a zero block in front changes nothing
            crcs = np.concatenate([np.zeros(1, dtype=np.intp), crcs])
        crcs = _apply(_level(level), crcs[0::2]).astype(np.intp) ^ crcs[1::2]
        level += 1
    return int(crcs[0])
