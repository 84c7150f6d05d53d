"""Reference FIT decoder built on fitdecode: bytes -> FitMessages.

Slow but trusted; the fast numpy decoder is checked against it. fitdecode runs
in lenient mode (misdeclared field sizes read as bytes, as the SDK does) with
CRCs computed but not enforced, so that we can apply our own policy: a file
CRC mismatch fails the file (the bytes are corrupt somewhere we cannot see),
while damage at the end (truncation, a message type used before its
definition, junk after a complete file) keeps what was decoded before it,
because that is what a watch that died mid-write leaves behind.
"""
from __future__ import annotations

from typing import Any

import fitdecode
import numpy as np
from fitdecode.exceptions import FitEOFError, FitError, FitHeaderError, FitParseError

from ingest.errors import DecodeError
from ingest.fit.hr_events import HrEventClock
from ingest.fit.messages import HR_FIELDS, RECORD_FIELDS, FitMessages

FIT_EPOCH_UNIX = 631065600  # 1989-12-31T00:00:00Z
_RECORD_FIELDS = frozenset(RECORD_FIELDS)


def check_header(data: bytes) -> None:
    """Reject what is not FIT at all before any decoding starts."""
    if not data:
        raise DecodeError("empty file")
    if len(data) < 12 or data[0] < 12 or data[8:12] != b".FIT":
        raise DecodeError("not a FIT file")


def _field_values(frame: fitdecode.FitDataMessage, raw_timestamp: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(own, expanded): valid profile-field values; components fill what a message lacks."""
    own: dict[str, Any] = {}
    expanded: dict[str, Any] = {}
    for fd in frame.fields:
        field_def = fd.field_def
        if field_def is not None and field_def.is_dev:
            continue
        if fd.field is None or fd.value is None:
            continue
        target = own if field_def is not None else expanded
        name = fd.field.name
        if raw_timestamp and name == "timestamp" and fd.raw_value is not None:
            # raw FIT seconds: compressed-timestamp headers are resolved here too
            target[name] = fd.raw_value
            continue
        target.setdefault(name, fd.value)
        if fd.parent_field is not None:
            target.setdefault(fd.parent_field.name, fd.value)
    return own, expanded


class _Collector:
    """Accumulates decoded frames into the FitMessages layout."""

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []
        self.hr_time: list[float] = []
        self.hr_bpm: list[float] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.clock = HrEventClock()

    def add(self, frame: fitdecode.FitDataMessage) -> None:
        name = frame.name
        if name == "hr":
            self._add_hr(frame)
            return
        if name.startswith("unknown_"):
            return
        own, expanded = _field_values(frame, raw_timestamp=name == "record")
        if name == "record":
            row: dict[str, float] = {}
            for source in (own, expanded):  # own values first, components only fill gaps
                for key, value in source.items():
                    if key in _RECORD_FIELDS and key not in row and isinstance(value, (int, float)):
                        row[key] = float(value) + (FIT_EPOCH_UNIX if key == "timestamp" else 0.0)
            self.records.append(row)
            return
        for key, value in expanded.items():
            own.setdefault(key, value)
        self.messages.setdefault(name, []).append(own)

    def _add_hr(self, frame: fitdecode.FitDataMessage) -> None:
        raw: dict[str, Any] = {}
        for fd in frame.fields:
            # only the message's own fields: fitdecode's event_timestamp_12 expansion is skipped
            if fd.field_def is not None and not fd.field_def.is_dev and fd.field is not None:
                raw[fd.field.name] = fd.raw_value if fd.field.name != "fractional_timestamp" else fd.value
        bpm = raw.get("filtered_bpm")
        bpms = list(bpm) if isinstance(bpm, tuple) else [bpm]
        events = raw.get("event_timestamp")
        clock = self.clock
        if isinstance(events, tuple) and len(events) == 1:
            events = events[0]
        if raw.get("timestamp") is not None and isinstance(events, int):
            clock.set_anchor(raw["timestamp"] + FIT_EPOCH_UNIX, raw.get("fractional_timestamp"), events)
        if events is not None:
            full = clock.full_events(list(events) if isinstance(events, tuple) else [events])
        elif raw.get("event_timestamp_12") is not None:
            full = clock.packed_events(raw["event_timestamp_12"], len(bpms))
        else:
            return
        for event, beat in zip(full, bpms):
            unix = clock.to_unix(event)
            if unix is not None:
                self.hr_time.append(unix)
                self.hr_bpm.append(float(beat) if beat is not None else np.nan)

    def columns(self) -> dict[str, dict[str, np.ndarray]]:
        out: dict[str, dict[str, np.ndarray]] = {}
        if self.records:
            present = {key for row in self.records for key in row}
            out["record"] = {
                key: np.array([row.get(key, np.nan) for row in self.records], dtype=np.float64)
                for key in RECORD_FIELDS
                if key in present
            }
        if self.hr_time:
            out["hr"] = dict(zip(HR_FIELDS, (np.array(self.hr_time, dtype=np.float64), np.array(self.hr_bpm, dtype=np.float64))))
        return out


def _frame_size(frame: object) -> int:
    """Bytes a frame occupied, so damage can be reported at a byte offset."""
    if isinstance(frame, fitdecode.FitHeader):
        return int(frame.header_size)
    if isinstance(frame, fitdecode.FitCRC):
        return 2
    if isinstance(frame, fitdecode.FitDefinitionMessage):
        size = 6 + 3 * len(frame.field_defs)
        return size + (1 + 3 * len(frame.dev_field_defs) if frame.is_developer_data else 0)
    assert isinstance(frame, fitdecode.FitDataMessage)
    return 1 + sum(int(fd.size) for fd in frame.def_mesg.all_field_defs)


def _crash_reason(exc: Exception) -> str:
    """'fitdecode failed: Type: first line of the message', short enough for a report line."""
    if isinstance(exc, RecursionError):
        return "nests too deeply to decode"
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    kind = type(exc).__name__ if type(exc).__module__ == "builtins" else f"{type(exc).__module__}.{type(exc).__name__}"
    return f"fitdecode failed: {kind}" + (f": {detail}" if detail else "")


def read_messages(data: bytes) -> FitMessages:
    """Decode a FIT byte stream (possibly several chained FIT files)."""
    check_header(data)
    collector = _Collector()
    chains = 0
    offset = 0
    damage: str | None = None
    complete = False  # the last frame read was a file CRC: a whole FIT file lies behind us
    reader = fitdecode.FitReader(
        data, check_crc=fitdecode.CrcCheck.READONLY, error_handling=fitdecode.ErrorHandling.IGNORE
    )
    try:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                collector.add(frame)
            elif isinstance(frame, fitdecode.FitHeader):
                chains += 1
            elif isinstance(frame, fitdecode.FitCRC) and not frame.matched:
                raise DecodeError("file CRC mismatch: data is corrupt")
            offset += _frame_size(frame)
            complete = isinstance(frame, fitdecode.FitCRC)
    except FitEOFError:
        damage = f"truncated at byte {offset}"
    except FitParseError as exc:
        what = "undefined message type" if "not defined" in str(exc) else "undecodable message"
        damage = f"{what} at byte {offset}"
    except FitHeaderError:
        if chains == 0:
            raise DecodeError("not a FIT file") from None
        damage = f"unreadable data at byte {offset}"
    except (DecodeError, MemoryError):
        raise
    except FitError as exc:  # the rest of fitdecode's own family: a verdict on the bytes
        raise DecodeError(f"corrupt FIT data at byte {offset} ({_crash_reason(exc)})") from exc
    except Exception as exc:  # noqa: BLE001 - see below
        # Hostile bytes crash fitdecode with plain exceptions (a struct.error on a
        # 16-byte header, an assert on a message that overruns the declared data
        # size, a TypeError on an array where it expects a scalar...). After a
        # complete file this is junk appended to it, kept as the FitHeaderError
        # case above keeps it; otherwise the bytes are corrupt. The cause stays
        # chained for debugging.
        if not complete:
            raise DecodeError(f"corrupt FIT data at byte {offset} ({_crash_reason(exc)})") from exc
        damage = f"unreadable data at byte {offset}"
    finally:
        reader.close()
    if damage is not None and not collector.records and not collector.messages:
        raise DecodeError(f"{damage}; nothing decodable before it")
    return FitMessages(
        columns=collector.columns(),
        messages=collector.messages,
        chains=chains,
        truncated=damage is not None,
        damage=damage,
        decoder="reference",
    )
