"""FIT decoding: bytes -> FitMessages (fast numpy path or fitdecode) -> Activities.

``decode_fit`` uses the vectorised decoder in ``ingest.fit.fast`` and falls
back to the fitdecode-based reference decoder when the fast path declines a
file (``FastPathUnsupported``) or fails unexpectedly. ``FALLBACKS`` counts the
fallbacks by reason so that the fast decoder's gaps show up in benchmarks and
metrics; a ``DecodeError`` from the fast path is a verdict on the file and
propagates.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from ingest.errors import DecodeError
from ingest.fit import fast, reference
from ingest.fit.clock import needs_clock
from ingest.fit.fast.lazy import LazyMessages
from ingest.fit.messages import FitMessages
from ingest.fit.normalize import to_activities
from ingest.model import Activity

__all__ = ["FALLBACKS", "decode_fit", "read_messages"]

FALLBACKS: Counter[str] = Counter()

Decoder = Literal["auto", "fast", "reference"]

# What ``normalize`` reads besides records and hr: file_id, sport, session, lap, device_info,
# activity, timestamp_correlation.
NORMALIZED = frozenset({0, 12, 18, 19, 23, 34, 162})
# gps_metadata: thousands per file on a camera, so read only when the clock was not set.
GPS_METADATA = frozenset({160})


def _count(exc: Exception) -> None:
    if isinstance(exc, fast.FastPathUnsupported):
        FALLBACKS[str(getattr(exc, "reason", None) or exc or "unsupported")] += 1
    else:
        FALLBACKS[f"error: {type(exc).__name__}"] += 1


def _late_fallback(data: bytes) -> Any:
    """For lazily decoded messages: a type the fast path declines on first read is
    answered by the reference decoder (decoded once per file, counted once)."""
    cache: dict[str, list[dict[str, Any]]] = {}

    def fallback(exc: Exception) -> dict[str, list[dict[str, Any]]]:
        if not cache:
            _count(exc)
            cache.update(reference.read_messages(data).messages)
        return cache

    return fallback


def read_messages(data: bytes, decoder: Decoder = "auto", only: frozenset[int] | None = None) -> FitMessages:
    """Decode FIT bytes with the chosen decoder ("auto": fast, falling back to reference).

    ``only`` lets the fast decoder skip other message types; the reference
    decodes everything regardless. Without ``only``, the fast decoder builds
    each message type's dicts when it is first read.
    """
    if decoder == "reference":
        return reference.read_messages(data)
    if decoder == "fast":
        return fast.read_messages(data, only)
    if decoder != "auto":
        raise ValueError(f"unknown FIT decoder {decoder!r}")
    try:
        msgs = fast.read_messages(data, only)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any fast-path failure falls back, counted
        _count(exc)
        return reference.read_messages(data)
    if isinstance(msgs.messages, LazyMessages):
        msgs.messages.fallback = _late_fallback(data)
    return msgs


def decode_fit(data: bytes, decoder: Decoder = "auto") -> list[Activity]:
    """FIT bytes -> normalised activities (raises DecodeError / NotAnActivity)."""
    msgs = read_messages(data, decoder, NORMALIZED)
    if needs_clock(msgs) and not msgs.messages.get("timestamp_correlation"):
        msgs.messages["gps_metadata"] = read_messages(data, decoder, GPS_METADATA).messages.get("gps_metadata", [])
    return to_activities(msgs)
