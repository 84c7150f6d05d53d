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
    x = (hr - rest) / (hr_max - rest)
    return x * a * math.exp(b * x)


def run(
    day: date,
    *,
    minutes: int = 40,
    speed: float = 3.0,
    late_speed: float | None = None,
    hr: float | None = 150.0,
    cadence: float | None = 170.0,
    sport: str = "running",
    hour: int = 7,
    hills_m: float = 0.0,
    step_s: float = 1.0,
) -> Activity:
    """A run at constant ``speed`` (m/s), slowing to ``late_speed`` for its last quarter of time."""
    t = np.arange(0.0, minutes * 60 + step_s / 2, step_s)
    v = np.full(t.shape, speed)
    if late_speed is not None:
        v[t > 0.75 * t[-1]] = late_speed
    dt = np.diff(t, prepend=t[0])
    d = np.cumsum(v * dt)
    alt = 100.0 + hills_m * np.sin(d / 500.0)
    streams = Streams(
        time_s=t,
        distance_m=d,
        speed_mps=v,
        altitude_m=alt,
        hr_bpm=None if hr is None else np.full(t.shape, hr),
        cadence_spm=None if cadence is None else np.full(t.shape, cadence),
    )
    start = datetime.combine(day, time(hour, 0), tzinfo=timezone.utc)
    return Activity(
        start_utc=start,
        sport=sport,
        format="fit",
        elapsed_s=float(t[-1]),
        timer_s=float(t[-1]),
        moving_s=float(t[-1]),
        distance_m=float(d[-1]),
        utc_offset_s=0,
        streams=streams,
    )


def store(engine: Engine, acts: list[Activity], athlete: str = "me") -> list[int]:
    ids = []
    with engine.begin() as conn:
        aid = get_or_create_athlete(conn, athlete)
        for act in acts:
            key = f"{athlete}-{act.start_utc.isoformat()}-{act.sport}-{act.elapsed_s}"
            sha = hashlib.sha256(key.encode()).hexdigest()
            ids.append(store_activity(conn, aid, act, SourceRef("file", key + ".fit", sha, "fit")).activity_id)
    return ids


def athlete_id(engine: Engine, name: str = "me") -> int:
    with engine.begin() as conn:
        return get_or_create_athlete(conn, name)


def days(start: date, offsets: list[int]) -> list[date]:
    return [start + timedelta(days=o) for o in offsets]
