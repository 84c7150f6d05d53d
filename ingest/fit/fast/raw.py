"""Raw field values exactly as fitdecode reads them, for the few per-message decodes."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.fit.fast.scan import Definition, FieldLayout

_BYTE_ID = 0x0D
_STRUCTS: dict[tuple[str, int, str], struct.Struct] = {}


def raw_value(data: bytes, pos: int, field: FieldLayout, endian: str) -> Any:
    """One field's raw value: None if invalid, a tuple for arrays and byte fields."""
    base = field.base
    count = field.size // base.size
    key = (endian, count, base.fmt)
    unpacker = _STRUCTS.get(key)
    if unpacker is None:
        unpacker = _STRUCTS[key] = struct.Struct(f"{endian}{count}{base.fmt}")
    values = unpacker.unpack_from(data, pos + field.offset)
    if base.identifier == _BYTE_ID:
        return base.parse(values)
    if len(values) > 1:
        return tuple(base.parse(v) for v in values)
    return base.parse(values[0])


def raw_values(data: bytes, pos: int, definition: Definition) -> list[Any]:
    """Raw values of the definition's (non-developer) fields, in definition order."""
    endian = ">" if definition.big_endian else "<"
    return [raw_value(data, pos, f, endian) for f in definition.fields]
