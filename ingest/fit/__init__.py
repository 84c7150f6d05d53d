"""FIT decoding: bytes -> FitMessages (fast numpy path or fitdecode) -> Activities.

``decode_fit`` tries the vectorised decoder in ``ingest.fit.fast`` (when that
module exists) and falls back to the fitdecode-based reference decoder when
the fast path declines a file (``FastPathUnsupported``) or fails unexpectedly.
``FALLBACKS`` counts the fallbacks by reason so that the fast decoder's gaps
show up in benchmarks and metrics; a ``DecodeError`` from the fast path is a
verdict on the file and propagates.
"""
from __future__ import annotations

from collections import Counter
from types import ModuleType
from typing import Literal

from ingest.errors import DecodeError
from ingest.fit import reference
from ingest.fit.messages import FitMessages
from ingest.fit.normalize import to_activities
from ingest.model import Activity

__all__ = ["FALLBACKS", "decode_fit", "read_messages"]

FALLBACKS: Counter[str] = Counter()

Decoder = Literal["auto", "fast", "reference"]


def _fast_module() -> ModuleType | None:
    try:
        from ingest.fit import fast  # noqa: PLC0415 - optional, written separately
    except ImportError:
        return None
    return fast


# What ``normalize`` reads besides records and hr: file_id, sport, session, lap, device_info, activity.
NORMALIZED = frozenset({0, 12, 18, 19, 23, 34})


def read_messages(data: bytes, decoder: Decoder = "auto", only: frozenset[int] | None = None) -> FitMessages:
    """Decode FIT bytes with the chosen decoder ("auto": fast, falling back to reference).

    ``only`` lets the fast decoder skip other message types; the reference
    decodes everything regardless.
    """
    if decoder == "reference":
        return reference.read_messages(data)
    fast = _fast_module()
    if decoder == "fast":
        if fast is None:
            raise RuntimeError("ingest.fit.fast is not available")
        return fast.read_messages(data, only)
    if decoder != "auto":
        raise ValueError(f"unknown FIT decoder {decoder!r}")
    if fast is None:
        return reference.read_messages(data)
    unsupported = getattr(fast, "FastPathUnsupported", None)
    try:
        return fast.read_messages(data, only)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any fast-path failure falls back, counted
        if unsupported is not None and isinstance(exc, unsupported):
            FALLBACKS[str(getattr(exc, "reason", None) or exc or "unsupported")] += 1
        else:
            FALLBACKS[f"error: {type(exc).__name__}"] += 1
    return reference.read_messages(data)


def decode_fit(data: bytes, decoder: Decoder = "auto") -> list[Activity]:
    """FIT bytes -> normalised activities (raises DecodeError / NotAnActivity)."""
    return to_activities(read_messages(data, decoder, NORMALIZED))
