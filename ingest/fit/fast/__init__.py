"""Vectorised FIT decoder: bytes -> FitMessages, value for value what the reference gives.

Steps:
1. ``scan.scan``: one Python walk over record headers (runs of equal
   headers measured with numpy), CRC-16 per chained file with numpy;
2. ``gather.Messages``: per definition, all its messages gathered
   into one byte matrix with a single fancy-index;
3. ``timeline``: compressed-timestamp headers resolved for all messages;
4. ``records`` / ``hr``: the columnar messages;
5. ``generic``: the other messages, fitdecode's way, from gathered raw values,
   each message type only when it is first read (``lazy``).

Damage is handled as the reference handles it: a file that ends early, a
message type used before its definition or junk after a complete FIT file
stop decoding, keep what came before and set ``truncated``/``damage``; a
file CRC mismatch raises ``DecodeError``. Whatever this decoder does not
mirror exactly raises ``FastPathUnsupported``; the caller
(``ingest.fit.read_messages``) then falls back to the reference decoder.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np

from ingest.errors import DecodeError
from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import Messages
from ingest.fit.fast.generic import SKIPPED, decode_group, message_name
from ingest.fit.fast.hr import hr_columns
from ingest.fit.fast.lazy import LazyMessages
from ingest.fit.fast.records import record_columns
from ingest.fit.fast.scan import Layout, scan
from ingest.fit.fast.timeline import Timeline
from ingest.fit.messages import FitMessages
from ingest.fit.reference import check_header

__all__ = ["FastPathUnsupported", "read_messages"]

_RECORD, _HR = 20, 132


def _groups(layout: Layout) -> dict[int, Messages]:
    """Messages per layout group, each group's positions in file order."""
    if not layout.messages:
        return {}
    group_of = np.array([d.group for d in layout.definitions], dtype=np.intp)[layout.msg_def]
    order = np.argsort(group_of, kind="stable")
    cuts = np.flatnonzero(np.diff(group_of[order])) + 1
    return {
        int(group_of[chunk[0]]): Messages(layout, layout.definitions[int(group_of[chunk[0]])], chunk)
        for chunk in np.split(order, cuts)
    }


def _other_messages(
    groups: dict[int, Messages], compressed_ts: np.ndarray | None, only: frozenset[int] | None
) -> LazyMessages:
    """The non-columnar messages by name, in order of first appearance, not yet decoded."""
    by_name: dict[str, list[Messages]] = {}
    first: dict[str, int] = {}
    for m in groups.values():
        num = m.definition.global_num
        name = message_name(num)
        if name is not None and num not in SKIPPED and (only is None or num in only):
            by_name.setdefault(name, []).append(m)
            first[name] = min(first.get(name, int(m.seq[0])), int(m.seq[0]))
    pending = {name: by_name[name] for name in sorted(by_name, key=first.__getitem__)}
    return LazyMessages(pending, compressed_ts)


def _decodable(groups: dict[int, Messages], only: frozenset[int] | None, compressed_ts: np.ndarray | None) -> bool:
    """Whether messages left out by ``only`` would have given the reference something to return."""
    if only is None:
        return False
    return any(decode_group(m, compressed_ts) for m in groups.values() if m.definition.global_num not in SKIPPED | only)


def read_messages(data: bytes, only: frozenset[int] | None = None) -> FitMessages:
    """Decode a FIT byte stream (possibly several chained FIT files).

    ``only`` limits the non-columnar messages to these global numbers: building
    Python dicts for thousands of hrv or gps_metadata messages nobody reads
    was half of the decode time.
    """
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
    lazy = _other_messages(groups, compressed_ts, only)
    # Asked for by number: decode now, so that a type the fast path declines is declined
    # here; otherwise each type is decoded when first read (see ``lazy``).
    messages: MutableMapping[str, list[dict[str, Any]]] = lazy if only is None else dict(lazy.items())
    if layout.damage is not None and "record" not in columns and not messages and not _decodable(groups, only, compressed_ts):
        raise DecodeError(f"{layout.damage}; nothing decodable before it")
    return FitMessages(
        columns=columns,
        messages=messages,
        chains=layout.chains,
        truncated=layout.damage is not None,
        damage=layout.damage,
        decoder="fast",
    )
