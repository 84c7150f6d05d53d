"""Numpy steps shared by the GPX and TCX decoders: ordering, distance, streams.

Decoders collect raw columns (one float per point, NaN when absent) plus
a datetime64 column and a segment number per point; everything after that is
vectorised here, once per file.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ingest.model import STREAM_NAMES, Streams
from ingest.plausible import HR_MAX_BPM, HR_MIN_BPM, PLACEHOLDER_UNIX

# IUGG mean Earth radius; gpxpy's flat-earth constant (10,000.8 km per 90 degrees)
# implies 6,366.7 km, so totals differ from gpxpy's length_2d by about 0.07 %.
EARTH_RADIUS_M = 6_371_008.8


@dataclass
class Ordered:
    """Which raw points make up the activity, in time order."""

    index: np.ndarray  # into the raw columns
    times: np.ndarray  # datetime64[us], no NaT
    segments: np.ndarray  # segment number per kept point
    notes: list[str] = field(default_factory=list)


# GPSBabel writes 1901-12-13T20:45:52 (the int32 epoch minimum) for "no time"; no
# GPS watch predates 1980 and none will record in the next century.
EARLIEST = np.datetime64("1980-01-01T00:00:00", "us")
LATEST = np.datetime64("2100-01-01T00:00:00", "us")
# Exact dates devices write for "no time" (FIT and GPS epochs...): see ingest.plausible.
_PLACEHOLDERS = np.array(sorted(PLACEHOLDER_UNIX), dtype="datetime64[s]").astype("datetime64[us]")


def order_points(times: np.ndarray, segments: np.ndarray) -> Ordered:
    """Keep timed points; put segments in order of their first time.

    Points inside a segment keep file order unless time runs backwards, in
    which case the whole track is stably sorted; of points sharing a
    timestamp only the first is kept. Notes say what was changed.
    """
    notes: list[str] = []
    timed = ~np.isnat(times)
    implausible = timed & ((times < EARLIEST) | (times >= LATEST))
    if implausible.any():
        timed &= ~implausible
        notes.append(f"ignored {int(implausible.sum())} timestamps outside 1980-2099")
    placeholder = timed & np.isin(times, _PLACEHOLDERS)
    if placeholder.any():
        timed &= ~placeholder
        implausible |= placeholder
        notes.append(f"ignored {int(placeholder.sum())} placeholder timestamps ({np.datetime_as_string(times[placeholder][0], unit='s')}Z)")
    index = np.flatnonzero(timed)
    dropped = int(times.shape[0] - index.shape[0] - implausible.sum())
    if dropped and index.size:
        notes.append(f"dropped {dropped} track points without a readable time")
    segs = segments[index]
    if index.size and segs[0] != segs[-1]:
        seg_ids, first = np.unique(segs, return_index=True)
        starts = times[index[first]]
        rank = np.empty(int(seg_ids.max()) + 1, dtype=np.int64)
        rank[seg_ids[np.argsort(starts, kind="stable")]] = np.arange(seg_ids.size)
        order = np.argsort(rank[segs], kind="stable")
        index, segs = index[order], segs[order]
    ordered = times[index]
    if ordered.size > 1 and bool((ordered[1:] < ordered[:-1]).any()):
        order = np.argsort(ordered, kind="stable")
        index, segs, ordered = index[order], segs[order], ordered[order]
        notes.append("track points were out of time order and have been sorted")
    if ordered.size > 1:
        # Garmin repeats the last point of a lap as the first of the next; replayed
        # exports repeat whole tracks. Keeping the first keeps time strictly increasing.
        keep = np.concatenate(([True], ordered[1:] != ordered[:-1]))
        repeats = int(keep.size - np.count_nonzero(keep))
        if repeats:
            index, segs, ordered = index[keep], segs[keep], ordered[keep]
            notes.append(f"dropped {repeats} track points that repeat a timestamp")
    return Ordered(index=index, times=ordered, segments=segs, notes=notes)


def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between arrays of points given in degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    distance_m: np.ndarray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance_m


def cumulative_distance(lat: np.ndarray, lon: np.ndarray, segments: np.ndarray) -> np.ndarray | None:
    """Cumulative haversine distance in metres along the positions.

    Points without a position carry the distance reached so far; the jump
    between two segments (a recording gap) is not counted, as gpxpy does.
    """
    valid = np.isfinite(lat) & np.isfinite(lon)
    where = np.flatnonzero(valid)
    if where.size == 0:
        return None
    steps = haversine_m(lat[where[:-1]], lon[where[:-1]], lat[where[1:]], lon[where[1:]])
    steps[segments[where[1:]] != segments[where[:-1]]] = 0.0
    at_valid = np.concatenate(([0.0], np.cumsum(steps)))
    last_valid = np.maximum.accumulate(np.where(valid, np.arange(valid.size), -1))
    # Before the first fix the runner has covered nothing we can measure.
    rank = np.searchsorted(where, np.maximum(last_valid, 0))
    return np.where(last_valid >= 0, at_valid[np.minimum(rank, where.size - 1)], 0.0)


def seconds_since(times: np.ndarray, start: np.datetime64) -> np.ndarray:
    """Float seconds from ``start``, computed in integer microseconds to keep precision."""
    return (times - start).astype("timedelta64[us]").astype(np.int64) / 1e6


def build_streams(time_s: np.ndarray, columns: Mapping[str, np.ndarray | None]) -> Streams:
    """Streams with every column that has at least one finite value; others are None."""
    kept = {
        name: np.ascontiguousarray(values, dtype=np.float64)
        for name, values in columns.items()
        if name in STREAM_NAMES and name != "time_s" and values is not None and bool(np.isfinite(values).any())
    }
    return Streams(time_s=np.ascontiguousarray(time_s, dtype=np.float64), **kept)


def hr_summary(hr: np.ndarray | None) -> tuple[float | None, float | None]:
    """(mean, max) of the heart-rate samples, ignoring gaps; (None, None) without any."""
    if hr is None:
        return None, None
    finite = hr[np.isfinite(hr) & (hr >= HR_MIN_BPM) & (hr <= HR_MAX_BPM)]  # 0, 255: "no data"
    if finite.size == 0:
        return None, None
    return float(finite.mean()), float(finite.max())


def to_float(text: str | None) -> float:
    """float of an element's text; NaN when absent or unreadable (devices write junk)."""
    if text is None:
        return np.nan
    try:
        return float(text)
    except ValueError:
        return np.nan
