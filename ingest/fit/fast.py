"""Vectorised FIT decoder: bytes -> FitMessages, value for value what the reference gives.

Steps:
1. ``fast_scan.scan``: one Python walk over record headers (runs of equal
   headers measured with numpy), CRC-16 per chained file with numpy;
2. ``fast_gather.Messages``: per definition, all its messages gathered
   into one byte matrix with a single fancy-index;
3. ``fast_timeline``: compressed-timestamp headers resolved for all messages;
4. ``fast_records`` / ``fast_hr``: the columnar messages;
5. ``fast_generic``: the few other messages, one by one, fitdecode's way.

Whatever this decoder does not mirror exactly (damaged files included: the
reference salvages them) raises ``FastPathUnsupported``; the caller
(``ingest.fit.read_messages``) then falls back to the reference decoder.
A file CRC mismatch raises ``DecodeError`` as the reference does.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ingest.fit.fast_errors import FastPathUnsupported
from ingest.fit.fast_gather import Messages
from ingest.fit.fast_generic import SKIPPED, decode_message
from ingest.fit.fast_hr import hr_columns
from ingest.fit.fast_records import record_columns
from ingest.fit.fast_scan import Layout, Segment, scan
from ingest.fit.fast_timeline import Timeline
from ingest.fit.messages import FitMessages
from ingest.fit.reference import check_header

__all__ = ["FastPathUnsupported", "read_messages"]

_RECORD, _HR = 20, 132


def _groups(layout: Layout) -> dict[int, Messages]:
    by_def: dict[int, list[Segment]] = {}
    for seg in layout.segments:
        by_def.setdefault(seg.definition, []).append(seg)
    return {i: Messages(layout, layout.definitions[i], segs) for i, segs in by_def.items()}


def _other_messages(data: bytes, layout: Layout, compressed_ts: np.ndarray | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for seg in layout.segments:  # segments are in file order
        definition = layout.definitions[seg.definition]
        if definition.global_num in SKIPPED:
            continue
        for i in range(seg.count):
            ts = int(compressed_ts[seg.seq + i]) if seg.compressed and compressed_ts is not None else None
            decoded = decode_message(data, seg.start + i * definition.size, definition, ts)
            if decoded is not None:
                out.setdefault(decoded[0], []).append(decoded[1])
    return out


def read_messages(data: bytes) -> FitMessages:
    """Decode a FIT byte stream (possibly several chained FIT files)."""
    check_header(data)
    data = bytes(data)
    layout = scan(data)
    groups = _groups(layout)
    timed = [m for m in groups.values() if m.compressed.any() or any(f.num == 253 for f in m.definition.fields)]
    timeline = Timeline(layout.messages, layout.chain_starts, timed)
    compressed_ts = timeline.compressed()
    by_global: dict[int, list[Messages]] = {}
    for m in groups.values():
        by_global.setdefault(m.definition.global_num, []).append(m)
    columns: dict[str, dict[str, np.ndarray]] = {}
    if _RECORD in by_global:
        resets = np.array(
            [d.seq for d in layout.definitions if d.global_num == _RECORD and any(f.num == 8 for f in d.fields)],
            dtype=np.int64,
        )
        columns["record"] = record_columns(by_global[_RECORD], resets, compressed_ts)
    if _HR in by_global:
        hr = hr_columns(by_global[_HR], timeline, layout.chain_starts)
        if hr:
            columns["hr"] = hr
    return FitMessages(
        columns=columns,
        messages=_other_messages(data, layout, compressed_ts),
        chains=layout.chains,
        truncated=False,
        decoder="fast",
    )
