"""Developer field types, tracked as fitdecode tracks them while it reads.

A developer field's byte count in data messages depends on the base type
its field_description declared before the definition that uses it
(fitdecode reads ``size // base.size`` whole values), so the header walk has
to follow developer_data_id (207) and field_description (206) messages.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitdecode import types as fit_types

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.raw import raw_values

if TYPE_CHECKING:
    from ingest.fit.fast.scan import Definition

_BYTE = fit_types.BASE_TYPE_BYTE
_MISSING = object()


def _first(definition: Definition, values: list[Any], num: int) -> Any:
    for field, value in zip(definition.fields, values):
        if field.num == num:
            return value
    return _MISSING


class DevRegistry:
    """dev_data_index -> {field number -> base type}; reset for each chained file."""

    def __init__(self) -> None:
        self.types: dict[Any, dict[Any, fit_types.BaseType]] = {}  # fitdecode allows None for both

    def base_type(self, dev_index: int, num: int) -> fit_types.BaseType:
        # fitdecode registers dummies (byte-typed) for unknown indexes and fields.
        fields = self.types.setdefault(dev_index, {})
        return fields.setdefault(num, _BYTE)

    def register(self, data: bytes, definition: Definition, pos: int) -> None:
        if definition.has_dev:
            raise FastPathUnsupported("developer fields inside developer descriptions")
        values = raw_values(data, pos, definition)
        if definition.global_num == 207:
            index = _first(definition, values, 3)
            if index is _MISSING:
                index = None
            elif not isinstance(index, int):
                raise FastPathUnsupported("odd developer_data_index")
            self.types[index] = {}
            return
        index = _first(definition, values, 0)
        num = _first(definition, values, 1)
        base_id = _first(definition, values, 2)
        index = None if index is _MISSING else index
        num = None if num is _MISSING else num
        if not isinstance(index, (int, type(None))) or not isinstance(num, (int, type(None))):
            raise FastPathUnsupported("odd field_description")
        if index not in self.types:
            raise FastPathUnsupported("field_description for an undeclared developer")
        if base_id is _MISSING or base_id is None:
            base = _BYTE
        elif isinstance(base_id, int) and base_id in fit_types.BASE_TYPES:
            base = fit_types.BASE_TYPES[base_id]
        else:
            raise FastPathUnsupported("unknown developer base type")
        self.types[index][num] = base
