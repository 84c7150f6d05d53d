"""Synthetic activities for the metrics, CLI and report tests (stored through the real store API)."""
from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import Engine

from heavylegs.store.activities import SourceRef, get_or_create_athlete, store_activity
from ingest.model import Activity, Streams

HR_REST = 60.0
HR_MAX = 190.0


def banister_per_minute(hr: float, rest: float = HR_REST, hr_max: float = HR_MAX, a: float = 0.64, b: float = 1.92) -> float:
    """Banister's TRIMP for one minute at a constant heart rate (male constants by default)."""
    x = min(max((hr - rest) / (hr_max - rest), 0.0), 1.0)
    return x * a * math.exp(b * x)


def streams_for(
    segments: list[tuple[float, int]],
    *,
    hr: float | np.ndarray | None = 150.0,
    cadence: float | None = 170.0,
    hills_m: float = 0.0,
) -> Streams:
    """1 Hz streams running each (speed m/s, seconds) segment in turn.

    Sample i ends the interval (i-1, i] and carries that interval's speed, so
    distance at the segment boundaries is exact: a run of [(3.0, 1800),
    (2.5, 720)] covers 5400 m at 3.0 m/s and then 1800 m at 2.5 m/s.
    """
    n = sum(sec for _, sec in segments) + 1
    t = np.arange(n, dtype=np.float64)
    v = np.zeros(n)
    i = 1
    for speed, sec in segments:
        v[i : i + sec] = speed
        i += sec
    v[0] = segments[0][0]
    step = np.zeros(n)
    step[1:] = v[1:]
    d = np.cumsum(step)
    hr_arr = None if hr is None else (np.full(n, float(hr)) if np.isscalar(hr) else np.asarray(hr, dtype=np.float64))
    return Streams(
        time_s=t,
        distance_m=d,
        speed_mps=v,
        altitude_m=100.0 + hills_m * np.sin(d / 500.0),
        hr_bpm=hr_arr,
        cadence_spm=None if cadence is None else np.full(n, cadence),
    )


def activity(day: date, streams: Streams, *, sport: str = "running", hour: int = 7, fmt: str = "fit", name: str | None = None) -> Activity:
    t, d = streams.time_s, streams.distance_m
    start = datetime.combine(day, time(hour, 0), tzinfo=timezone.utc)
    return Activity(
        start_utc=start,
        sport=sport,
        format=fmt,
        elapsed_s=float(t[-1]),
        timer_s=float(t[-1]),
        moving_s=float(t[-1]),
        distance_m=None if d is None else float(d[-1]),
        utc_offset_s=0,
        streams=streams,
        name=name,
    )


def run(day: date, minutes: int = 40, speed: float = 3.0, *, hr: float | None = 150.0, **kw) -> Activity:  # type: ignore[no-untyped-def]
    """A steady run on flat ground at ``speed`` with a constant heart rate."""
    sport = kw.pop("sport", "running")
    hour = kw.pop("hour", 7)
    return activity(day, streams_for([(speed, minutes * 60)], hr=hr, **kw), sport=sport, hour=hour)


def store(engine: Engine, acts: list[Activity], athlete: str = "me") -> list[int]:
    ids = []
    with engine.begin() as conn:
        aid = get_or_create_athlete(conn, athlete)
        for act in acts:
            key = f"{athlete}-{act.start_utc.isoformat()}-{act.sport}-{act.elapsed_s}-{act.format}"
            sha = hashlib.sha256(key.encode()).hexdigest()
            ids.append(store_activity(conn, aid, act, SourceRef("file", key, sha, act.format)).activity_id)
    return ids


def athlete_id(engine: Engine, name: str = "me") -> int:
    with engine.begin() as conn:
        return get_or_create_athlete(conn, name)


def days(start: date, offsets: list[int]) -> list[date]:
    return [start + timedelta(days=o) for o in offsets]
