"""The one Python pass of the fast decoder: walk record headers, never field values.

Definition messages give each local type's layout, so every data message's
length is known from its header byte alone. Between definitions the walk is
a tight loop over a 256-entry table (header byte -> message size), appending
each message's position; what the table cannot step over (a definition, a
developer description that changes later layouts, an undefined local type)
takes the slow branch. Which definition each message used is recovered
afterwards with numpy from the header bytes and a snapshot of the table.

Anything this walk does not mirror exactly from fitdecode raises
FastPathUnsupported so that the caller falls back to the reference decoder.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fitdecode import types as fit_types

from ingest.errors import DecodeError
from ingest.fit.fast.crc import crc16
from ingest.fit.fast.devtypes import DevRegistry
from ingest.fit.fast.errors import FastPathUnsupported

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
    group: int = -1  # first definition with the same layout: their messages are gathered together


@dataclass
class Layout:
    buf: np.ndarray
    definitions: list[Definition] = field(default_factory=list)
    chains: int = 0
    positions: list[int] = field(default_factory=list)  # every data message, file order
    stretches: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (first, stop, header -> definition)
    msg_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    msg_def: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @property
    def messages(self) -> int:
        return len(self.positions)
    chain_starts: list[int] = field(default_factory=list)  # messages before each chained file
    groups: dict[tuple[object, ...], int] = field(default_factory=dict)
    damage: str | None = None  # why decoding stopped early (as the reference words it)


# Definition bytes -> parsed fields: a file repeats the same few definitions (a Suunto
# or Stryd file re-defines its record layout hundreds of times), and so do files.
_PARSED: dict[bytes, tuple[list[FieldLayout], int, tuple[tuple[int, int, int], ...]]] = {}
_PARSED_MAX = 4096


def _parse_fields(data: bytes, p: int, nfields: int) -> tuple[list[FieldLayout], int, tuple[tuple[int, int, int], ...]]:
    """The field layouts of a definition, the message size they give (header byte
    included) and the layout's key for merging definitions."""
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
    return fields, offset, tuple((f.num, f.size, f.base.identifier) for f in fields)


def _read_definition(data: bytes, pos: int, end: int, header: int, layout: Layout, chain: int, dev: DevRegistry) -> tuple[Definition, int]:
    if pos + 6 > end:
        raise _Cut(pos)
    big = data[pos + 2] != 0
    global_num = int.from_bytes(data[pos + 3 : pos + 5], "big" if big else "little")
    nfields = data[pos + 5]
    p = pos + 6
    if p + 3 * nfields > end:
        raise _Cut(pos)
    raw = data[pos + 2 : p + 3 * nfields]
    parsed = _PARSED.get(raw)
    if parsed is None:
        parsed = _parse_fields(data, p, nfields)
        if len(_PARSED) >= _PARSED_MAX:  # hostile input must not grow it without bound
            _PARSED.clear()
        _PARSED[raw] = parsed
    fields, offset, field_key = parsed
    p += 3 * nfields
    has_dev = bool(header & 0x20)
    if has_dev:
        if p + 1 > end:
            raise _Cut(pos)
        ndev = data[p]
        p += 1
        if p + 3 * ndev > end:
            raise _Cut(pos)
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
    key = (global_num, big, offset, field_key)
    definition.group = layout.groups.setdefault(key, definition.index)
    layout.definitions.append(definition)
    return definition, p


def _headers_of(local: int) -> list[int]:
    """Header bytes that name a data message of this local type (reserved bits ignored)."""
    plain = [local | (x << 4) for x in range(4)]  # bits 4-5 are ignored in data headers
    compressed = [0x80 | (local << 5) | t for t in range(32)] if local < 4 else []
    return plain + compressed


_HEADERS_OF = [_headers_of(local) for local in range(16)]


def _run(data: bytes, positions: list[int], pos: int, end: int, header: int, size: int) -> int:
    """Append the messages from ``pos`` on that have this header byte, each ``size`` long and
    wholly before ``end``; the position after them. A strided slice gathers their header
    bytes in C, in growing windows (a 1 Hz record stream is thousands in a row)."""
    limit = (end - pos) // size  # a message crossing ``end`` is left to the walk
    mark = bytes((header,))
    count, window = 0, 64
    while count < limit:
        take = min(window, limit - count)
        start = pos + count * size
        heads = data[start : start + take * size : size]
        same = take - len(heads.lstrip(mark))
        count += same
        if same < take:
            break
        window *= 4
    stop = pos + count * size
    positions.extend(range(pos, stop, size))
    return stop


def _walk_body(data: bytes, pos: int, end: int, layout: Layout, chain: int) -> None:
    dev = DevRegistry()
    sizes = [0] * 256  # 0: take the slow branch
    def_of = np.full(256, -1, dtype=np.intp)
    snapshot = def_of.copy()
    positions = layout.positions
    append = positions.append
    while pos < end:
        first = len(positions)
        while pos < end:
            header = data[pos]
            size = sizes[header]
            if not size:
                break
            append(pos)
            pos += size
            if pos >= end:
                break
            # A run of one message type (a 1 Hz record stream): stepped in C. Checked two
            # ahead so that alternating types stay in this loop, which is cheaper for them.
            if data[pos] == header and pos + 2 * size < end and data[pos + size] == header:
                pos = _run(data, positions, pos, end, header, size)
        if pos > end:
            cut = positions.pop()
            if len(positions) > first:
                layout.stretches.append((first, len(positions), snapshot))
            raise _Cut(cut, pos)
        if len(positions) > first:
            layout.stretches.append((first, len(positions), snapshot))
        if pos == end:
            break
        header = data[pos]
        if header & 0xC0 == 0x40:
            definition, pos = _read_definition(data, pos, end, header, layout, chain, dev)
            slow = definition.global_num in (206, 207)  # they change later layouts
            for h in _HEADERS_OF[definition.local]:
                sizes[h] = 0 if slow else definition.size
                def_of[h] = definition.index
            snapshot = def_of.copy()
            continue
        index = int(def_of[header])
        if index < 0:
            raise _Damage(f"undefined message type at byte {pos}")
        definition = layout.definitions[index]
        if pos + definition.size > end:
            raise _Cut(pos, pos + definition.size)
        dev.register(data, definition, pos)
        layout.stretches.append((len(positions), len(positions) + 1, snapshot))
        append(pos)
        pos += definition.size


class _Damage(Exception):
    """Decoding stops here; what came before is kept (the reference's ``damage`` text)."""


class _Cut(Exception):
    """A frame starting at ``args[0]`` crosses the end; ``args[1]``: where a data message would end."""


def _chain(data: bytes, buf: np.ndarray, pos: int, layout: Layout) -> int:
    """Walk one chained FIT file from its header; the position after its CRC."""
    total = len(data)
    if total - pos < 12 or data[pos + 8 : pos + 12] != b".FIT" or data[pos] < 12:
        raise _Damage(f"unreadable data at byte {pos}")
    hsize = data[pos]
    if hsize == 13:
        raise _Damage(f"unreadable data at byte {pos}")
    if hsize > 14:  # fitdecode itself fails on these with a struct.error
        raise FastPathUnsupported("header longer than 14 bytes")
    if total - pos < hsize:
        raise _Damage(f"truncated at byte {pos}")
    # A header CRC mismatch is ignored, as by the reference (fitdecode in READONLY mode).
    layout.chains += 1
    body_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
    body_start, body_end = pos + hsize, pos + hsize + body_size
    layout.chain_starts.append(layout.messages)
    end = min(body_end, total)
    try:
        _walk_body(data, body_start, end, layout, layout.chains - 1)
    except _Cut as cut:
        start, stop = cut.args[0], cut.args[1] if len(cut.args) > 1 else None
        if end < body_end or (stop is not None and stop > total):  # fitdecode meets the end of the file
            raise _Damage(f"truncated at byte {start}") from None
        # A frame crossing only the declared data end: fitdecode fails an assert there.
        raise FastPathUnsupported("message runs past the end of the data") from None
    if end < body_end:  # stopped exactly at the end of the file: the next header is missing
        raise _Damage(f"truncated at byte {end}")
    if body_end + 2 > total:
        raise _Damage(f"truncated at byte {body_end}")
    # Checked after the walk, as fitdecode meets the CRC only after the data.
    if crc16(buf[pos:body_end]) != int.from_bytes(data[body_end : body_end + 2], "little"):
        raise DecodeError("file CRC mismatch: data is corrupt")
    return body_end + 2


def scan(data: bytes) -> Layout:
    """Walk every chained FIT file in ``data``; check each file CRC; stop at damage."""
    buf = np.frombuffer(data, dtype=np.uint8)
    layout = Layout(buf)
    pos = 0
    try:
        while pos < len(data):
            pos = _chain(data, buf, pos, layout)
    except _Damage as damage:
        layout.damage = str(damage)
    layout.msg_pos = np.array(layout.positions, dtype=np.intp)
    layout.msg_def = np.empty(layout.msg_pos.size, dtype=np.intp)
    for first, stop, table in layout.stretches:
        layout.msg_def[first:stop] = table[buf[layout.msg_pos[first:stop]]]
    return layout
