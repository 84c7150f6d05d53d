"""Every message that is not columnar (file_id, session, lap, event...), one at a time.

There are only tens to hundreds of these per file, so they are decoded in
Python following fitdecode's steps exactly, with its profile objects:
subfield resolution against the message's raw values, component expansion
(none of these messages accumulate), enum rendering, scale then offset, and
the default processor's type conversions (date_time, bool, local times).
The dict built from the result is the reference's: own values first (first
valid occurrence wins, subfields also under their parent's name), component
expansions only fill gaps; invalid values and unknown fields are dropped.
"""
from __future__ import annotations

from typing import Any

from fitdecode import profile, types as fit_types
from fitdecode.processors import DefaultDataProcessor

from ingest.fit.fast_errors import FastPathUnsupported
from ingest.fit.fast_raw import raw_values
from ingest.fit.fast_scan import Definition

_PROCESSOR = DefaultDataProcessor()
SKIPPED = frozenset({20, 132})  # record and hr are columnar


def _scale_offset(field: Any, value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_scale_offset(field, v) for v in value)
    if isinstance(value, (int, float)):
        if field.scale:
            value = float(value) / field.scale
        if field.offset:
            value = value - field.offset
    return value


def _resolve(field: Any, definition: Definition, raws: list[Any]) -> tuple[Any, Any]:
    for sub in field.subfields or ():
        for ref in sub.ref_fields:
            for layout, raw in zip(definition.fields, raws):
                if layout.num == ref.def_num and ref.raw_value == raw:
                    return sub, field
    return field, None


def _processed(field: Any, parent: Any, value: Any, raw: Any) -> Any:
    data = fit_types.FieldData(None, field, parent, value, raw)
    _PROCESSOR.on_process_type(None, data)
    return data.value


def _store(target: dict[str, Any], field: Any, parent: Any, value: Any) -> None:
    if value is None:
        return
    target.setdefault(field.name, value)
    if parent is not None:
        target.setdefault(parent.name, value)


def decode_message(data: bytes, pos: int, definition: Definition, compressed_ts: int | None) -> tuple[str, dict[str, Any]] | None:
    """(message name, fields) as the reference stores it; None for messages it skips."""
    mesg_type = profile.MESSAGE_TYPES.get(definition.global_num)
    if mesg_type is None:
        return None
    raws = raw_values(data, pos, definition)
    own: dict[str, Any] = {}
    expanded: dict[str, Any] = {}
    try:
        for layout, raw in zip(definition.fields, raws):
            field = mesg_type.fields.get(layout.num)
            if field is None:
                continue
            field, parent = _resolve(field, definition, raws)
            for component in field.components or ():
                try:
                    value = component.render(raw)
                except ValueError:
                    continue
                if component.accumulate:
                    raise FastPathUnsupported("accumulating component outside record/hr")
                value = _scale_offset(component, value)
                target, target_parent = _resolve(mesg_type.fields[component.def_num], definition, raws)
                _store(expanded, target, target_parent, _processed(target, target_parent, target.render(value), value))
            value = _scale_offset(field, field.render(raw))
            _store(own, field, parent, _processed(field, parent, value, raw))
        if compressed_ts is not None:
            stamp = profile.FIELD_TYPE_TIMESTAMP
            _store(expanded, stamp, None, _processed(stamp, None, stamp.render(compressed_ts), compressed_ts))
    except FastPathUnsupported:
        raise
    except Exception as exc:  # whatever fitdecode would trip on, let it trip on it itself
        raise FastPathUnsupported(f"unusual {mesg_type.name} message: {type(exc).__name__}") from exc
    for key, value in expanded.items():
        own.setdefault(key, value)
    return mesg_type.name, own
