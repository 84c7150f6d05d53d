"""The one Python pass of the fast decoder: walk record headers, never field values.

Definition messages give each local type's layout, so every data message's
length is known; runs of identical headers (same local type, same layout)
have a constant stride and are measured with numpy instead of one Python
step per message. The result is a list of definitions and, per definition,
segments of equally spaced messages, each with its position in file order.

Anything this walk does not mirror exactly from fitdecode raises
FastPathUnsupported so that the caller falls back to the reference decoder.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fitdecode import types as fit_types

from ingest.errors import DecodeError
from ingest.fit.fast_crc import crc16
from ingest.fit.fast_devtypes import DevRegistry
from ingest.fit.fast_errors import FastPathUnsupported

_BYTE = fit_types.BASE_TYPE_BYTE


@dataclass
class FieldLayout:
    num: int
    size: int
    base: fit_types.BaseType  # after fitdecode's fallbacks (unknown id or odd size -> byte)
    offset: int  # from the start of the message, header byte included


@dataclass
class Definition:
    index: int
    chain: int
    local: int
    global_num: int
    big_endian: bool
    fields: list[FieldLayout]
    size: int  # whole message, header byte included
    seq: int  # messages before this definition (accumulators restart here)
    has_dev: bool = False


@dataclass
class Segment:
    """``count`` messages of one definition, ``stride`` bytes apart, from ``start``."""

    definition: int
    start: int
    count: int
    seq: int  # file-order index of the first message
    compressed: bool  # compressed-timestamp headers: the time offset is in each header byte


@dataclass
class Layout:
    buf: np.ndarray
    definitions: list[Definition] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    chains: int = 0
    messages: int = 0
    chain_starts: list[int] = field(default_factory=list)  # messages before each chained file


def _run_length(buf: np.ndarray, pos: int, stride: int, end: int, key: int, mask: int) -> int:
    """How many messages from ``pos`` share header ``key`` (under ``mask``) and fit before ``end``."""
    limit = (end - pos) // stride
    count, window = 1, 16
    while count < limit:
        n = min(window, limit - count)
        start = pos + count * stride
        heads = buf[start : start + n * stride : stride]
        if mask != 0xFF:
            heads = heads & mask
        bad = np.flatnonzero(heads != key)
        if bad.size:
            return count + int(bad[0])
        count += n
        window *= 4
    return count


def _read_definition(data: bytes, pos: int, end: int, header: int, layout: Layout, chain: int, dev: DevRegistry) -> tuple[Definition, int]:
    if pos + 6 > end:
        raise FastPathUnsupported("definition runs past the end of the data")
    big = data[pos + 2] != 0
    global_num = int.from_bytes(data[pos + 3 : pos + 5], "big" if big else "little")
    nfields = data[pos + 5]
    p = pos + 6
    if p + 3 * nfields > end:
        raise FastPathUnsupported("definition runs past the end of the data")
    fields: list[FieldLayout] = []
    offset = 1
    for _ in range(nfields):
        num, size, base_id = data[p], data[p + 1], data[p + 2]
        p += 3
        base = fit_types.BASE_TYPES.get(base_id, _BYTE)
        if size % base.size:
            base = _BYTE
        if size == 0:  # fitdecode raises ValueError on a zero-size read
            raise FastPathUnsupported("zero-size field")
        fields.append(FieldLayout(num, size, base, offset))
        offset += size
    has_dev = bool(header & 0x20)
    if has_dev:
        if p + 1 > end:
            raise FastPathUnsupported("definition runs past the end of the data")
        ndev = data[p]
        p += 1
        if p + 3 * ndev > end:
            raise FastPathUnsupported("definition runs past the end of the data")
        for _ in range(ndev):
            num, size, dev_index = data[p], data[p + 1], data[p + 2]
            p += 3
            if num == 253:  # fitdecode would treat it as the running timestamp
                raise FastPathUnsupported("developer field numbered 253")
            base = dev.base_type(dev_index, num)
            used = (size // base.size) * base.size  # fitdecode reads whole base values only
            if used == 0:
                raise FastPathUnsupported("developer field smaller than its type")
            offset += used
    definition = Definition(len(layout.definitions), chain, header & 0x0F, global_num, big, fields, offset, layout.messages, has_dev)
    layout.definitions.append(definition)
    return definition, p


def _walk_body(data: bytes, buf: np.ndarray, pos: int, end: int, layout: Layout, chain: int) -> None:
    local_defs: dict[int, Definition] = {}
    dev = DevRegistry()
    while pos < end:
        header = data[pos]
        if header & 0x80:
            local = (header >> 5) & 0x3
            key, mask, compressed = header & 0xE0, 0xE0, True
        elif header & 0x40:
            definition, pos = _read_definition(data, pos, end, header, layout, chain, dev)
            local_defs[definition.local] = definition
            continue
        else:
            local = header & 0x0F
            key, mask, compressed = header, 0xFF, False
        definition = local_defs.get(local)
        if definition is None:
            raise FastPathUnsupported(f"local message {local} not defined")
        stride = definition.size
        if pos + stride > end:
            raise FastPathUnsupported("message runs past the end of the data")
        count = 1
        nxt = pos + stride
        if nxt < end and (data[nxt] & mask) == key:
            count = _run_length(buf, pos, stride, end, key, mask)
        if definition.global_num in (206, 207):
            for i in range(count):
                dev.register(data, definition, pos + i * stride)
        layout.segments.append(Segment(definition.index, pos, count, layout.messages, compressed))
        layout.messages += count
        pos += count * stride


def scan(data: bytes) -> Layout:
    """Walk every chained FIT file in ``data``; check each file CRC."""
    buf = np.frombuffer(data, dtype=np.uint8)
    layout = Layout(buf)
    pos, total = 0, len(data)
    while pos < total:
        if total - pos < 12:
            raise FastPathUnsupported("trailing bytes after the last FIT file")
        hsize = data[pos]
        if data[pos + 8 : pos + 12] != b".FIT" or hsize not in (12, 14) or total - pos < hsize:
            raise FastPathUnsupported("not a FIT header")
        # A header CRC mismatch is ignored, as by the reference (fitdecode in READONLY mode).
        body_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body_start, body_end = pos + hsize, pos + hsize + body_size
        if body_end + 2 > total:
            raise FastPathUnsupported("file shorter than its header says")
        layout.chain_starts.append(layout.messages)
        _walk_body(data, buf, body_start, body_end, layout, layout.chains)
        # Checked after the walk, as fitdecode meets the CRC only after the data.
        expected = int.from_bytes(data[body_end : body_end + 2], "little")
        if crc16(buf[pos:body_end]) != expected:
            raise DecodeError("file CRC mismatch: data is corrupt")
        layout.chains += 1
        pos = body_end + 2
    if layout.chains == 0:
        raise FastPathUnsupported("empty input")
    return layout
