"""Every message that is not columnar (file_id, session, lap, event, hrv...), fitdecode's way.

Raw values come from one numpy gather per field for all messages of a
layout; the per-message work then follows fitdecode's steps exactly, with
its profile objects: subfield resolution against the message's raw values,
component expansion (none of these messages accumulate), enum rendering,
scale then offset, and the default processor's type conversions
(date_time inline; bool and local times through fitdecode's own processor).
The dict built from the result is the reference's: own values first (first
valid occurrence wins, subfields also under their parent's name), component
expansions only fill gaps; invalid values and unknown fields are dropped.
"""
from __future__ import annotations

import datetime
from typing import Any

import numpy as np
from fitdecode import profile
from fitdecode import types as fit_types
from fitdecode.processors import DefaultDataProcessor

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import BYTE_ID, STRING_ID, Messages, python_values
from ingest.fit.fast.raw import raw_value
from ingest.fit.fast.scan import FieldLayout

SKIPPED = frozenset({20, 132})  # record and hr are columnar
_PROCESSOR = DefaultDataProcessor()
_VIA_PROCESSOR = frozenset({"bool", "local_date_time", "localtime_into_day"})
_EPOCH = 631065600
_DATETIME_MIN = 0x10000000
_UTC = datetime.timezone.utc
_STAMP = profile.FIELD_TYPE_TIMESTAMP
_SMALL = 16  # layouts with fewer messages are unpacked with struct


def _scale_offset(field: Any, value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_scale_offset(field, v) for v in value)
    if isinstance(value, (int, float)):
        if field.scale:
            value = float(value) / field.scale
        if field.offset:
            value = value - field.offset
    return value


def _resolve(field: Any, layouts: list[FieldLayout], raws: tuple[Any, ...]) -> tuple[Any, Any]:
    for sub in field.subfields:
        for ref in sub.ref_fields:
            for layout, raw in zip(layouts, raws):
                if layout.num == ref.def_num and ref.raw_value == raw:
                    return sub, field
    return field, None


def _value(field: Any, parent: Any, value: Any, raw: Any) -> Any:
    """What fitdecode's default processor leaves in FieldData.value."""
    tname = field.type.name
    if tname == "date_time":
        if value is not None and value >= _DATETIME_MIN:
            return datetime.datetime.fromtimestamp(_EPOCH + value, _UTC)
        return value
    if tname in _VIA_PROCESSOR:
        data = fit_types.FieldData(None, field, parent, value, raw)
        _PROCESSOR.on_process_type(None, data)
        return data.value
    return value


def _store(target: dict[str, Any], field: Any, parent: Any, value: Any) -> None:
    if value is None:
        return
    target.setdefault(field.name, value)
    if parent is not None:
        target.setdefault(parent.name, value)


def _expand(mesg_type: Any, field: Any, raw: Any, layouts: list[FieldLayout], raws: tuple[Any, ...], expanded: dict[str, Any]) -> None:
    for component in field.components:
        try:
            value = component.render(raw)
        except ValueError:  # fitdecode skips components the byte array cannot hold
            continue
        if component.accumulate:
            raise FastPathUnsupported("accumulating component outside record/hr")
        value = _scale_offset(component, value)
        target = mesg_type.fields[component.def_num]
        target, parent = _resolve(target, layouts, raws) if target.subfields else (target, None)
        _store(expanded, target, parent, _value(target, parent, target.render(value), value))


def _column(m: Messages, fl: FieldLayout, field: Any, raws: list[Any]) -> list[Any]:
    """Final values of a field without subfields, for all messages at once."""
    enum = field.type.enum
    numeric = fl.base.identifier not in (BYTE_ID, STRING_ID)
    if field.scale and not field.offset and not enum and numeric and m.n >= _SMALL:
        values = python_values(m, fl, field.scale)  # same division, on the whole column
    else:
        values = [field.render(raw) for raw in raws] if enum else raws
        if field.scale or field.offset:
            values = [_scale_offset(field, v) for v in values]
    tname = field.type.name
    if tname == "date_time" or tname in _VIA_PROCESSOR:
        values = [_value(field, None, v, raw) for v, raw in zip(values, raws)]
    return values


def message_name(global_num: int) -> str | None:
    """The profile's name of a message type; None where the reference skips the type."""
    mesg_type = profile.MESSAGE_TYPES.get(global_num)
    return None if mesg_type is None else str(mesg_type.name)


def decode_group(m: Messages, compressed_ts: np.ndarray | None) -> list[tuple[int, str, dict[str, Any]]]:
    """(file position, message name, fields) for every message of one layout."""
    mesg_type = profile.MESSAGE_TYPES.get(m.definition.global_num)
    if mesg_type is None:  # the reference skips messages unknown to the profile
        return []
    layouts = m.definition.fields
    name = mesg_type.name
    try:
        if m.n >= _SMALL:
            columns = [python_values(m, fl) for fl in layouts]
        else:  # numpy's per-call cost outweighs a few struct unpacks
            endian = ">" if m.definition.big_endian else "<"
            blobs = [row.tobytes() for row in m.rows]
            columns = [[raw_value(blob, 0, fl, endian) for blob in blobs] for fl in layouts]
        plan = []
        for i, fl in enumerate(layouts):
            field = mesg_type.fields.get(fl.num)
            if field is not None:
                plan.append((i, field, None if field.subfields else _column(m, fl, field, columns[i])))
    except FastPathUnsupported:
        raise
    except Exception as exc:  # whatever fitdecode would trip on, let it trip on it itself
        raise FastPathUnsupported(f"unusual {name} message: {type(exc).__name__}") from exc
    stamped = compressed_ts is not None and bool(m.compressed.any())
    names = [field.name for _, field, _ in plan]
    if not stamped and len(set(names)) == len(names) and all(done is not None and not f.components for _, f, done in plan):
        # The common case: every value is already final, names are unique.
        values = list(zip(*[done for _, _, done in plan])) if plan else [()] * m.n
        return [
            (seq, name, {k: v for k, v in zip(names, row) if v is not None})
            for seq, row in zip(m.seq.tolist(), values)
        ]
    rows = list(zip(*columns)) if columns else [()] * m.n
    stamps: list[Any] = [None] * m.n
    if stamped:
        assert compressed_ts is not None
        stamps = [int(t) if c else None for t, c in zip(compressed_ts[m.seq].tolist(), m.compressed.tolist())]
    out: list[tuple[int, str, dict[str, Any]]] = []
    try:
        for k, (seq, raws, stamp) in enumerate(zip(m.seq.tolist(), rows, stamps)):
            own: dict[str, Any] = {}
            expanded: dict[str, Any] = {}
            for i, field, done in plan:
                raw = raws[i]
                if done is not None:
                    if field.components:
                        _expand(mesg_type, field, raw, layouts, raws, expanded)
                    value = done[k]
                    if value is not None and field.name not in own:
                        own[field.name] = value
                    continue
                field, parent = _resolve(field, layouts, raws)
                if field.components:
                    _expand(mesg_type, field, raw, layouts, raws, expanded)
                value = field.render(raw)
                if field.scale or field.offset:
                    value = _scale_offset(field, value)
                _store(own, field, parent, _value(field, parent, value, raw))
            if stamp is not None:  # a compressed-timestamp header adds a timestamp field
                _store(expanded, _STAMP, None, _value(_STAMP, None, _STAMP.render(stamp), stamp))
            for key, value in expanded.items():
                own.setdefault(key, value)
            out.append((seq, name, own))
    except FastPathUnsupported:
        raise
    except Exception as exc:
        raise FastPathUnsupported(f"unusual {name} message: {type(exc).__name__}") from exc
    return out
