"""``record`` messages -> columns, vectorised per definition.

Mirrors what the reference produces from fitdecode's frames: per message, a
field's own value (first valid occurrence in the definition; for
``timestamp`` the last valid raw value) wins; where the message has no own
numeric value, the first component expansion fills in (``altitude`` ->
``enhanced_altitude``, ``speed`` -> ``enhanced_speed``,
``compressed_speed_distance`` -> ``speed`` + accumulated ``distance``, the
compressed-timestamp header -> ``timestamp``). An own value that is an array
or byte blob blocks later own occurrences but leaves room for components.
"""
from __future__ import annotations

import numpy as np
from fitdecode import profile

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import BYTE_ID, INT_IDS, STRING_ID, Messages, bytes_le, invalid_mask, is_scalar_number
from ingest.fit.fast.scan import FieldLayout
from ingest.fit.messages import RECORD_FIELDS

FIT_EPOCH_UNIX = 631065600
_PROFILE = profile.MESSAGE_TYPES[20].fields
_WANTED = frozenset(RECORD_FIELDS)
_CSD = 8  # compressed_speed_distance
_WIDE = frozenset({0x8E, 0x8F, 0x90})
assert all(f.type.enum is None for f in _PROFILE.values() if f.name in _WANTED)


def _source_ints(m: Messages, fl: FieldLayout) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Component source as fitdecode renders it: (ints, valid, byte length or None for scalars)."""
    ident = fl.base.identifier
    if ident == BYTE_ID:
        block = m.column(fl)
        return bytes_le(block), ~np.all(block == 0xFF, axis=1), fl.size
    if ident in INT_IDS and ident not in _WIDE and fl.size == fl.base.size:
        raw = m.column(fl)
        return raw.astype(np.int64), ~invalid_mask(fl, raw), None
    raise FastPathUnsupported("unusual type for a record component source")


class _Part:
    """One definition's contribution: own and expanded values per column."""

    def __init__(self, m: Messages) -> None:
        self.m = m
        n = m.n
        self.own: dict[str, np.ndarray] = {}
        self.decided: dict[str, np.ndarray] = {}
        self.exp: dict[str, np.ndarray] = {}
        self.csd_raw: np.ndarray | None = None  # 12-bit distance component, -1 where absent
        self.nan = np.full(n, np.nan)

    def put_own(self, name: str, values: np.ndarray | None, present: np.ndarray) -> None:
        decided = self.decided.get(name)
        if decided is None:  # the field's first occurrence: nothing earlier to keep
            self.decided[name] = present.copy()
            self.own[name] = self.nan.copy() if values is None else np.where(present, values, np.nan)
            return
        own = self.own[name]
        if values is not None:
            take = present & ~decided
            own[take] = values[take]
        decided |= present

    def put_exp(self, name: str, values: np.ndarray, valid: np.ndarray) -> None:
        exp = self.exp.setdefault(name, self.nan.copy())
        take = valid & np.isnan(exp)
        exp[take] = values[take]


def _components(part: _Part, fl: FieldLayout) -> None:
    field = _PROFILE[fl.num]
    targets = [c for c in field.components if _PROFILE[c.def_num].name in _WANTED]
    if not targets:
        return
    ints, valid, nbytes = _source_ints(part.m, fl)
    for c in targets:
        if nbytes is not None and c.bit_offset and c.bit_offset >= nbytes * 8:
            continue  # fitdecode skips components the byte array cannot hold
        bits = (ints >> c.bit_offset) & ((1 << c.bits) - 1)
        if c.accumulate:
            if fl.num != _CSD or part.csd_raw is not None:
                raise FastPathUnsupported("unexpected accumulating record component")
            part.csd_raw = np.where(valid, bits, -1)
            continue
        values = bits.astype(np.float64)
        if c.scale:
            values = values / c.scale
        if c.offset:
            values = values - c.offset
        part.put_exp(_PROFILE[c.def_num].name, values, valid)


def _own(part: _Part, fl: FieldLayout) -> None:
    field = _PROFILE[fl.num]
    m = part.m
    if fl.num == 253:
        if fl.base.identifier not in INT_IDS or fl.size != fl.base.size:
            raise FastPathUnsupported("odd timestamp field")
        raw = m.column(fl)
        valid = ~invalid_mask(fl, raw)
        own = part.own.setdefault("timestamp", part.nan.copy())
        own[valid] = raw[valid].astype(np.float64) + FIT_EPOCH_UNIX  # the last valid one wins
        return
    ident = fl.base.identifier
    if ident == STRING_ID:
        raise FastPathUnsupported("string-typed record field")
    if ident == BYTE_ID:
        part.put_own(field.name, None, ~np.all(m.column(fl) == 0xFF, axis=1))
        return
    if not is_scalar_number(fl):  # an array: a tuple, never None
        part.put_own(field.name, None, np.ones(m.n, dtype=bool))
        return
    raw = m.column(fl)
    values = raw.astype(np.float64)
    if field.scale:
        values = values / field.scale
    if field.offset:
        values = values - field.offset
    part.put_own(field.name, values, ~invalid_mask(fl, raw))


def _part(m: Messages, compressed_ts: np.ndarray | None) -> _Part:
    part = _Part(m)
    nums = [fl.num for fl in m.definition.fields]
    if nums.count(_CSD) > 1:
        raise FastPathUnsupported("compressed_speed_distance twice in one definition")
    for fl in m.definition.fields:
        field = _PROFILE.get(fl.num)
        if field is None:
            continue
        if field.components:
            _components(part, fl)
        if field.name in _WANTED:
            _own(part, fl)
    if compressed_ts is not None and m.compressed.any():
        ts = compressed_ts[m.seq].astype(np.float64) + FIT_EPOCH_UNIX
        part.put_exp("timestamp", ts, m.compressed)
    return part


def _accumulate_distance(parts: list[_Part], resets: np.ndarray) -> None:
    """compressed_speed_distance's 12-bit distance, accumulated in file order.

    fitdecode restarts the accumulator at 0 at every record definition that
    holds the field (``resets``: message counts before those definitions).
    """
    with_csd = [p for p in parts if p.csd_raw is not None]
    if not with_csd:
        return
    seq = np.concatenate([p.m.seq for p in with_csd])
    raw = np.concatenate([p.csd_raw for p in with_csd])
    owner = np.concatenate([np.full(p.m.n, i) for i, p in enumerate(with_csd)])
    local = np.concatenate([np.arange(p.m.n) for p in with_csd])
    order = np.argsort(seq, kind="stable")
    seq, raw, owner, local = seq[order], raw[order], owner[order], local[order]
    keep = raw >= 0
    seq, raw, owner, local = seq[keep], raw[keep], owner[keep], local[keep]
    if not seq.size:
        return
    epoch = np.searchsorted(np.sort(resets), seq, side="right")
    first = np.ones(seq.size, dtype=bool)
    first[1:] = epoch[1:] != epoch[:-1]
    prev = np.empty_like(raw)
    prev[0] = 0
    prev[1:] = raw[:-1]
    prev[first] = 0
    delta = (raw - prev) & 0xFFF
    total = np.cumsum(delta)
    start = np.maximum.accumulate(np.where(first, np.arange(seq.size), 0))
    acc = total - total[start] + delta[start]
    distance = acc / 16.0
    for i, p in enumerate(with_csd):
        sel = owner == i
        values = np.full(p.m.n, np.nan)
        values[local[sel]] = distance[sel]
        p.put_exp("distance", values, ~np.isnan(values))


def record_columns(messages: list[Messages], resets: np.ndarray, compressed_ts: np.ndarray | None) -> dict[str, np.ndarray]:
    parts = [_part(m, compressed_ts) for m in messages if m.n]
    if not parts:
        return {}
    _accumulate_distance(parts, resets)
    # One layout (the common case): its messages are already in file order.
    order = None if len(parts) == 1 else np.argsort(np.concatenate([p.m.seq for p in parts]), kind="stable")
    out: dict[str, np.ndarray] = {}
    for name in RECORD_FIELDS:
        chunks = []
        for p in parts:
            own, exp = p.own.get(name), p.exp.get(name)
            if own is None:
                chunks.append(exp if exp is not None else p.nan)
            else:
                chunks.append(own if exp is None else np.where(np.isnan(own), exp, own))
        column = chunks[0] if order is None else np.concatenate(chunks)[order]
        if not np.isnan(column).all():
            out[name] = column
    return out
