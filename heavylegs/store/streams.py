"""Compact per-activity stream storage: one zlib blob of numpy columns.

A row per sample would make ten years of 1 Hz runs tens of millions of rows;
a blob per activity keeps a 1-hour run at roughly 40-80 KB on disk.
Layout: magic, then per stream a header line ``name dtype n`` and raw
little-endian bytes. Time, distance and position stay float64 (a float32
latitude loses about half a metre); the rest are float32.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from ingest.model import STREAM_NAMES, Streams

MAGIC = b"HLS1"
_F64 = {"time_s", "distance_m", "lat_deg", "lon_deg"}


def encode_streams(streams: Streams, level: int = 6) -> bytes:
    parts: list[bytes] = [MAGIC]
    for name, arr in streams.present().items():
        dtype = "<f8" if name in _F64 else "<f4"
        data = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        head = f"{name} {dtype} {arr.shape[0]}".encode()
        parts.append(struct.pack("<H", len(head)) + head)
        parts.append(data)
    return zlib.compress(b"".join(parts), level)


def decode_streams(blob: bytes | None) -> Streams:
    if not blob:
        return Streams.empty()
    raw = zlib.decompress(blob)
    if raw[:4] != MAGIC:
        raise ValueError("not a heavylegs stream blob")
    pos = 4
    cols: dict[str, np.ndarray] = {}
    while pos < len(raw):
        (hlen,) = struct.unpack_from("<H", raw, pos)
        pos += 2
        name, dtype, n = raw[pos : pos + hlen].decode().split()
        pos += hlen
        count = int(n)
        size = np.dtype(dtype).itemsize * count
        cols[name] = np.frombuffer(raw, dtype=dtype, count=count, offset=pos).astype(np.float64)
        pos += size
    unknown = set(cols) - set(STREAM_NAMES)
    for name in unknown:
        cols.pop(name)
    if "time_s" not in cols:
        return Streams.empty()
    return Streams(**cols)
