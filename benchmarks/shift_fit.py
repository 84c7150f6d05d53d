"""Time-shift a FIT file: every date_time field moves by ``delta_s`` and the CRCs are redone.

Used to build a synthetic ten-year history from real runs, as distinct
activities that dedup keeps apart. Works on undamaged files with normal and
compressed-timestamp headers; compressed timestamps are relative, so they
follow the shifted full timestamps by themselves.
"""
from __future__ import annotations

import struct

import fitdecode.profile as profile

_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401, 0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)
_DATE_TYPES = {"date_time", "local_date_time"}


def crc16(data: bytes, crc: int = 0) -> int:
    """FIT CRC-16 (FIT SDK, section 'CRC')."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


def _date_fields(global_num: int) -> set[int]:
    mt = profile.MESSAGE_TYPES.get(global_num)
    nums = {253}
    if mt is not None:
        nums |= {num for num, f in mt.fields.items() if getattr(f.type, "name", "") in _DATE_TYPES}
    return nums


def shift_fit(data: bytes, delta_s: int) -> bytes:
    out = bytearray(data)
    pos = 0
    while pos + 12 <= len(data):
        header_size = data[pos]
        (data_size,) = struct.unpack_from("<I", data, pos + 4)
        start, end = pos + header_size, pos + header_size + data_size
        defs: dict[int, tuple[str, list[tuple[int, int]], int]] = {}
        p = start
        while p < end:
            rh = data[p]
            p += 1
            if rh & 0x80:  # compressed timestamp header: relative time, nothing to shift
                endian, fields, size = defs[(rh >> 5) & 0x3]
                p += size
                continue
            local = rh & 0x0F
            if rh & 0x40:
                arch = data[p + 1]
                endian = ">" if arch else "<"
                (gnum,) = struct.unpack_from(endian + "H", data, p + 2)
                nfields = data[p + 4]
                p += 5
                fields: list[tuple[int, int]] = []
                offset = 0
                wanted = _date_fields(gnum)
                for _ in range(nfields):
                    num, size = data[p], data[p + 1]
                    if num in wanted and size == 4:
                        fields.append((offset, size))
                    offset += size
                    p += 3
                if rh & 0x20:
                    ndev = data[p]
                    p += 1
                    for _ in range(ndev):
                        offset += data[p + 1]
                        p += 3
                defs[local] = (endian, fields, offset)
                continue
            endian, fields, size = defs[local]
            for off, _ in fields:
                (value,) = struct.unpack_from(endian + "I", data, p + off)
                if 0x10000000 <= value < 0xFFFFFFFF:  # leave invalid and system-time values alone
                    struct.pack_into(endian + "I", out, p + off, value + delta_s)
            p += size
        struct.pack_into("<H", out, end, crc16(bytes(out[pos:end])))
        pos = end + 2
    return bytes(out)
