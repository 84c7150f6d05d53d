"""What a decoder process runs for one file: decode, then the expensive encodings.

Kept apart from ``heavylegs.importer`` so that a pool worker imports only the
decoders, numpy and zlib, not SQLAlchemy, the settings model or the store:
the forkserver preloads this module once and every worker forks from it warm.
``pool_context`` chooses how the re-analysis pool's workers start.
"""
from __future__ import annotations

import multiprocessing
import threading
import zlib
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any

from heavylegs.store.streams import encode_streams
from ingest.decode import DecodeStatus, decode_safely


@dataclass
class Decoded:
    """A worker's answer for one file, with the expensive encodings done off the writer."""

    status: DecodeStatus
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


def pool_context(preload: str) -> BaseContext:
    """How to start pool workers that need most of what this process has imported (the
    re-analysis: settings, store, analysis). A process with one thread (``heavylegs
    import``, ``rebuild``) forks: the workers start in milliseconds, sharing its pages.
    A process with threads (the service: scheduler, web server) must not fork, so its
    workers come from a forkserver that imports ``preload`` once."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([preload])
    return ctx
