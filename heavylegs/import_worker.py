"""What a decoder process runs for one file: decode, then the expensive encodings.

Kept apart from ``heavylegs.importer`` so that a pool worker imports only the
decoders, numpy and zlib, not SQLAlchemy, the settings model or the store:
the forkserver preloads this module once and every worker forks from it warm.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from heavylegs.store.streams import encode_streams
from ingest.decode import decode_safely


@dataclass
class Decoded:
    """A worker's answer for one file, with the expensive encodings done off the writer."""

    status: str  # ok | skipped | failed
    reason: str | None
    activities: list[Any]
    blobs: list[list[bytes]]
    raw_z: bytes | None


def decode_job(data: bytes, fmt: str | None, hints: dict[str, Any], default_tz: str) -> Decoded:
    status, payload = decode_safely(data, fmt, hints, default_tz)
    if status != "ok":
        return Decoded(status, payload, [], [], None)
    try:
        blobs = [[encode_streams(a.streams, 1)] + [encode_streams(leg.streams, 1) for leg in a.legs] for a in payload]
        return Decoded("ok", None, payload, blobs, zlib.compress(data, 1))
    except (ValueError, TypeError, OverflowError) as exc:  # a decoder bug must cost one file, not the batch
        return Decoded("failed", f"could not store the decoded streams: {type(exc).__name__}: {exc}"[:200], [], [], None)


def ready() -> bool:
    """A no-op job: submitted first, it starts the workers while the writer decodes."""
    return True
