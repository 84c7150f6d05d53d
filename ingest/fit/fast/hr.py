"""``hr`` messages -> beat samples, as the reference builds them.

Raw values are gathered per definition with numpy and turned into the same
Python values fitdecode hands the reference (None for invalid, tuples for
arrays and byte fields); the beat clock itself is the shared
``ingest.fit.hr_events.HrEventClock`` run over the messages in file order
(a few hundred to a few thousand per file, only in HRM-Swim/Tri uploads).

fitdecode's own expansion of ``event_timestamp_12`` can crash (an assert on
the start time, None arithmetic); where it would, the file is declined so
that the reference's behaviour decides.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from fitdecode import profile

from ingest.fit.fast.errors import FastPathUnsupported
from ingest.fit.fast.gather import BYTE_ID, Messages, is_scalar_number, python_values
from ingest.fit.fast.timeline import Timeline
from ingest.fit.hr_events import HrEventClock

FIT_EPOCH_UNIX = 631065600
_PROFILE = profile.MESSAGE_TYPES[132].fields
_FRACTIONAL = 0
_TIME256 = 1
_EVENT = 9
_EVENT12 = 10


def _scaled(value: Any, scale: float) -> Any:
    if isinstance(value, tuple):
        return tuple(_scaled(v, scale) for v in value)
    if isinstance(value, (int, float)):
        return float(value) / scale
    return value


def hr_columns(messages: list[Messages], timeline: Timeline, chain_starts: list[int]) -> dict[str, np.ndarray]:
    rows: list[tuple[Messages, dict[int, list[Any]]]] = []
    for m in messages:
        fields = m.definition.fields
        nums = [fl.num for fl in fields]
        if nums.count(253) > 1 or any(nums.count(n) > 1 for n in (_EVENT, _EVENT12, _TIME256)):
            raise FastPathUnsupported("repeated hr field")
        if _EVENT12 in nums and (_EVENT in nums or fields[nums.index(_EVENT12)].base.identifier != BYTE_ID):
            raise FastPathUnsupported("hr layout fitdecode cannot expand")
        if _TIME256 in nums:
            fl = fields[nums.index(_TIME256)]
            if fl.base.identifier != BYTE_ID and not is_scalar_number(fl):
                raise FastPathUnsupported("array time256")
        raws = {fl.num: python_values(m, fl) for fl in fields if fl.num in _PROFILE}
        rows.append((m, raws))
    order = sorted((int(s), k, i) for k, (m, _) in enumerate(rows) for i, s in enumerate(m.seq.tolist()))
    last_before = timeline.last_before()
    chain_of = np.searchsorted(np.asarray(chain_starts), np.arange(timeline.total), side="right") - 1
    start_by_chain: dict[int, int] = {}
    clock = HrEventClock()
    times: list[float] = []
    bpms: list[float] = []
    for seq, k, i in order:
        m, raws = rows[k]
        nums = [fl.num for fl in m.definition.fields]
        chain = int(chain_of[seq])
        if _EVENT in nums:
            ts = raws[253][i] if 253 in nums and nums.index(253) < nums.index(_EVENT) else None
            if not isinstance(ts, (int, type(None))):
                raise FastPathUnsupported("odd hr timestamp")
            start_by_chain[chain] = ts if ts is not None else int(last_before[seq])
        if _EVENT12 in nums and (raws[_EVENT12][i] is None or start_by_chain.get(chain, 0) <= 0):
            raise FastPathUnsupported("fitdecode cannot expand this event_timestamp_12")
        raw: dict[str, Any] = {}
        for fl in m.definition.fields:
            field = _PROFILE.get(fl.num)
            if field is None:
                continue
            value = raws[fl.num][i]
            raw[field.name] = _scaled(value, field.scale) if fl.num == _FRACTIONAL else value
        try:
            _beats(raw, clock, times, bpms)
        except Exception as exc:  # odd types the reference would trip on in the same place
            raise FastPathUnsupported(f"unusual hr message: {type(exc).__name__}") from exc
    if not times:
        return {}
    return {"event_timestamp": np.array(times, dtype=np.float64), "filtered_bpm": np.array(bpms, dtype=np.float64)}


def _beats(raw: dict[str, Any], clock: HrEventClock, times: list[float], bpms: list[float]) -> None:
    """One hr message, exactly as the reference's collector reads it."""
    bpm = raw.get("filtered_bpm")
    beats = list(bpm) if isinstance(bpm, tuple) else [bpm]
    events = raw.get("event_timestamp")
    if isinstance(events, tuple) and len(events) == 1:
        events = events[0]
    if raw.get("timestamp") is not None and isinstance(events, int):
        clock.set_anchor(raw["timestamp"] + FIT_EPOCH_UNIX, raw.get("fractional_timestamp"), events)
    if events is not None:
        full = clock.full_events(list(events) if isinstance(events, tuple) else [events])
    elif raw.get("event_timestamp_12") is not None:
        full = clock.packed_events(raw["event_timestamp_12"], len(beats))
    else:
        return
    for event, beat in zip(full, beats):
        unix = clock.to_unix(event)
        if unix is not None:
            times.append(unix)
            bpms.append(float(beat) if beat is not None else np.nan)
