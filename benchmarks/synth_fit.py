"""A small FIT writer for benchmarks and tests: a synthetic run with correct CRCs.

``synthetic_run(hours=3)`` gives a 1 Hz running activity (file_id, event
start/stop, records with timestamp / position / distance / altitude / speed /
heart rate / cadence, a lap, a session, an activity) that fitdecode,
fitparse and the Garmin SDK all read. ``FitWriter`` is the building block,
also used by the fast decoder's hostile-input tests.

Run as a script to write one: ``python benchmarks/synth_fit.py out.fit --hours 3``.
"""
from __future__ import annotations

import argparse
import math
import struct
from collections.abc import Sequence
from pathlib import Path

FIT_EPOCH_UNIX = 631065600
_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
              0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)
# base type id -> struct code
_CODES = {0x00: "B", 0x01: "b", 0x02: "B", 0x83: "h", 0x84: "H", 0x85: "i", 0x86: "I", 0x88: "f", 0x8C: "I", 0x0A: "B", 0x8B: "H"}


def fit_crc(data: bytes, crc: int = 0) -> int:
    """CRC-16 as in the FIT SDK (nibble table)."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


class FitWriter:
    """Definitions and data messages, little-endian; ``finish()`` adds header and CRC."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.layouts: dict[int, struct.Struct] = {}

    def define(self, local: int, global_num: int, fields: Sequence[tuple[int, ...]]) -> None:
        """fields: (field number, base type id) or (number, 0x0D, size) for byte arrays (packed as bytes)."""
        codes = [f"{f[2]}s" if f[1] == 0x0D else _CODES[f[1]] for f in fields]
        self.body += struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
        for f, code in zip(fields, codes):
            self.body += struct.pack("<BBB", f[0], struct.calcsize("<" + code), f[1])
        self.layouts[local] = struct.Struct("<" + "".join(codes))

    def message(self, local: int, *values: object, time_offset: int | None = None) -> None:
        """A data message; with ``time_offset`` (0-31) a compressed-timestamp header (local < 4)."""
        self.body.append(local if time_offset is None else 0x80 | (local << 5) | time_offset)
        self.body += self.layouts[local].pack(*values)

    def raw(self, data: bytes) -> None:
        self.body += data

    def finish(self, header_crc: bool = True) -> bytes:
        header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self.body), b".FIT")
        header += struct.pack("<H", fit_crc(header) if header_crc else 0)
        data = header + bytes(self.body)
        return data + struct.pack("<H", fit_crc(data))


def synthetic_run(hours: float = 3.0, start_unix: int = 1_700_000_000) -> bytes:
    """A 1 Hz run of ``hours``: about 10,800 records per 3 hours, ~30 bytes each."""
    seconds = int(hours * 3600)
    t0 = start_unix - FIT_EPOCH_UNIX
    w = FitWriter()
    w.define(0, 0, [(0, 0x00), (1, 0x84), (2, 0x84), (3, 0x8C), (4, 0x86)])  # file_id
    w.message(0, 4, 1, 3113, 123456789, t0)  # activity, garmin, fr945
    w.define(1, 21, [(253, 0x86), (0, 0x00), (1, 0x00)])  # event: timer start/stop
    w.message(1, t0, 0, 0)
    record = [(253, 0x86), (0, 0x85), (1, 0x85), (5, 0x86), (2, 0x84), (6, 0x84), (3, 0x02), (4, 0x02)]
    w.define(2, 20, record)
    lat0, lon0 = 46.05, 14.5
    semi = 2**31 / 180.0
    distance = 0.0
    for i in range(seconds):
        speed = 3.0 + 0.5 * math.sin(i / 600.0)  # m/s
        distance += speed
        lat = lat0 + distance / 111_195.0
        altitude = 300.0 + 20.0 * math.sin(i / 900.0)
        hr = 140 + int(15 * math.sin(i / 1200.0)) + (i % 3)
        cadence = 85 + (i % 5)
        w.message(
            2, t0 + i, int(lat * semi), int(lon0 * semi), int(distance * 100),
            int((altitude + 500) * 5), int(speed * 1000), hr, cadence,
        )
    end = t0 + seconds - 1
    w.message(1, end, 0, 4)  # timer stop_all
    summary = [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (0, 0x00), (1, 0x00)]
    w.define(3, 19, summary)  # lap
    w.message(3, end, t0, seconds * 1000, seconds * 1000, int(distance * 100), 9, 1)
    w.define(4, 18, summary + [(5, 0x00), (6, 0x00)])  # session: sport running, generic
    w.message(4, end, t0, seconds * 1000, seconds * 1000, int(distance * 100), 8, 1, 1, 0)
    w.define(5, 34, [(253, 0x86), (0, 0x86), (1, 0x84), (2, 0x00), (3, 0x00), (4, 0x00)])  # activity
    w.message(5, end, seconds * 1000, 1, 0, 26, 1)
    return w.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    args.out.write_bytes(synthetic_run(args.hours))


if __name__ == "__main__":
    main()
