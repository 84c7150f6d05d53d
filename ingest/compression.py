"""Bounded decompression: never inflate more than the limit allows."""
from __future__ import annotations

import zlib

from ingest.errors import DecodeError, HostileInput

_CHUNK = 1 << 20


def gunzip_bounded(data: bytes, max_bytes: int, max_ratio: float) -> bytes:
    """Decompress gzip ``data`` (all members), refusing output past ``max_bytes``
    or past ``max_ratio`` times the input size (a gzip bomb)."""
    limit = min(max_bytes, int(max(len(data), 1024) * max_ratio))
    out: list[bytes] = []
    total = 0
    rest = data
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            buf = d.decompress(rest, _CHUNK)
            while True:
                total += len(buf)
                if total > limit:
                    raise HostileInput(f"gzip expands past {limit} bytes (compression bomb?)")
                out.append(buf)
                if d.eof or not d.unconsumed_tail:
                    break
                buf = d.decompress(d.unconsumed_tail, _CHUNK)
        except zlib.error as exc:
            if out:
                raise DecodeError(f"corrupt gzip data after {total} bytes: {exc}") from exc
            raise DecodeError(f"not valid gzip data: {exc}") from exc
        if not d.eof:
            raise DecodeError(f"truncated gzip stream after {total} bytes")
        rest = d.unused_data
        # Trailing zero padding after the last member is legal and common.
        if rest and not rest.strip(b"\x00"):
            break
    return b"".join(out)
