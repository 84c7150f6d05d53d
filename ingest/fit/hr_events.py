"""Beat-time reconstruction for FIT ``hr`` messages (HRM-Swim / HRM-Tri uploads).

Straps that cannot transmit while underwater buffer heart rate and the watch
appends it as ``hr`` messages (usually in chained FIT files at the end). The
FIT SDK (``HrMesgUtils`` / ``hr_mesg_utils.expand_heart_rates``) defines
their timing:

* an *anchor* message carries ``timestamp`` + ``fractional_timestamp`` (the
  wall-clock time) and exactly one ``event_timestamp`` (a free-running strap
  clock, uint32 in 1/1024 s);
* later messages carry arrays of ``filtered_bpm`` with either full
  ``event_timestamp`` values or ``event_timestamp_12``: the low 12 bits of
  each event time, bit-packed little-endian, to be accumulated onto the last
  full value (a new value below the previous one means the 12-bit counter
  rolled over);
* a beat's wall-clock time is ``anchor_time + (event - anchor_event) / 1024``,
  with the strap clock wrapping at 2**32.

fitdecode expands ``event_timestamp_12`` without seeding the accumulator from
the anchor, so its expanded values are off by up to 4 s; we therefore work
from the raw bytes here. Kept free of fitdecode so the fast decoder can reuse it.
"""
from __future__ import annotations

from collections.abc import Sequence

EVENT_SCALE = 1024.0  # event_timestamp units per second
_WRAP = 1 << 32  # strap clock is a uint32
_LOW12 = 0xFFF


def unpack_12bit(packed: Sequence[int], count: int) -> list[int]:
    """The first ``count`` 12-bit values of a little-endian bit-packed byte array."""
    bits = int.from_bytes(bytes(packed), "little")
    available = len(packed) * 8 // 12
    return [(bits >> (12 * i)) & _LOW12 for i in range(min(count, available))]


class HrEventClock:
    """Turns successive ``hr`` messages into (unix seconds, bpm) beat samples."""

    def __init__(self) -> None:
        self.anchor_unix: float | None = None
        self.anchor_event: int = 0
        self.last_event: int = 0

    def set_anchor(self, timestamp_unix: float, fractional_s: float | None, event_raw: int) -> None:
        self.anchor_unix = timestamp_unix + (fractional_s or 0.0)
        self.anchor_event = event_raw
        self.last_event = event_raw

    def full_events(self, events_raw: Sequence[int | None]) -> list[int | None]:
        """Full (32-bit) event values; they also seed the 12-bit accumulator."""
        for ev in events_raw:
            if ev is not None:
                self.last_event = ev
        return list(events_raw)

    def packed_events(self, packed: Sequence[int], count: int) -> list[int | None]:
        """Expand ``event_timestamp_12`` into full event values."""
        out: list[int | None] = []
        for low in unpack_12bit(packed, count):
            candidate = (self.last_event & ~_LOW12) | low
            if candidate < self.last_event:
                candidate += _LOW12 + 1
            self.last_event = candidate
            out.append(candidate)
        return out

    def to_unix(self, event_raw: int | None) -> float | None:
        """Wall-clock time of one event; None without an anchor or when it precedes it."""
        if self.anchor_unix is None or event_raw is None:
            return None
        delta = (event_raw - self.anchor_event) % _WRAP
        if delta >= _WRAP // 2:  # before the anchor: the SDK rejects these too
            return None
        return self.anchor_unix + delta / EVENT_SCALE
