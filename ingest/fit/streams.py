"""FIT record columns -> ``Streams``: merge split seconds, convert units, fill HR from beats."""
from __future__ import annotations

import numpy as np

from ingest.model import Streams

SEMICIRCLE_DEG = 180.0 / 2**31
# A beat sample stands for the record times within this distance of it; the FIT
# SDK carries a value across gaps of up to 5 s before giving up.
BEAT_REACH_S = 5.0


def merge_by_timestamp(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per distinct timestamp, sorted; the first valid value per field wins.

    Some watches split one second over two partial records (position in one,
    heart rate in the other); rows without a timestamp cannot be placed and are dropped.
    """
    ts = columns.get("timestamp")
    if ts is None:
        return {}
    keep = np.flatnonzero(np.isfinite(ts))
    order = keep[np.argsort(ts[keep], kind="stable")]
    sorted_ts = ts[order]
    if sorted_ts.size == 0:
        return {key: np.zeros(0) for key in columns}
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_ts) > 0])
    if starts.size == sorted_ts.size:
        return {key: values[order] for key, values in columns.items()}
    group = np.cumsum(np.r_[True, np.diff(sorted_ts) > 0]) - 1
    out: dict[str, np.ndarray] = {}
    for key, values in columns.items():
        v = values[order]
        merged = np.full(starts.size, np.nan)
        valid = np.flatnonzero(np.isfinite(v))
        groups, first = np.unique(group[valid], return_index=True)
        merged[groups] = v[valid[first]]
        out[key] = merged
    return out


def hr_from_beats(times: np.ndarray, beat_times: np.ndarray, beat_bpm: np.ndarray) -> np.ndarray:
    """Beat-sampled heart rate interpolated onto ``times``; NaN away from any beat."""
    ok = np.isfinite(beat_times) & np.isfinite(beat_bpm)
    bt, bpm = beat_times[ok], beat_bpm[ok]
    out = np.full(times.shape, np.nan)
    if bt.size == 0 or times.size == 0:
        return out
    order = np.argsort(bt, kind="stable")
    bt, bpm = bt[order], bpm[order]
    values = np.interp(times, bt, bpm)
    right = np.clip(np.searchsorted(bt, times), 0, bt.size - 1)
    left = np.clip(right - 1, 0, bt.size - 1)
    nearest = np.minimum(np.abs(bt[right] - times), np.abs(bt[left] - times))
    reach = nearest <= BEAT_REACH_S
    out[reach] = values[reach]
    return out


def _prefer(primary: np.ndarray | None, fallback: np.ndarray | None) -> np.ndarray | None:
    """``enhanced_*`` where valid, the legacy field elsewhere."""
    if primary is None:
        return fallback
    if fallback is None:
        return primary
    return np.where(np.isfinite(primary), primary, fallback)


def _present(values: np.ndarray | None) -> np.ndarray | None:
    """A stream with no valid sample is one the file does not carry."""
    if values is None or not np.isfinite(values).any():
        return None
    return values.astype(np.float64, copy=False)


def build_streams(rec: dict[str, np.ndarray], start_unix: float, cadence_factor: np.ndarray | float) -> Streams:
    """Streams from merged record columns; ``cadence_factor`` per row (2 for stride sports)."""
    ts = rec.get("timestamp")
    if ts is None or ts.size == 0:
        return Streams.empty()
    lat = rec.get("position_lat")
    lon = rec.get("position_long")
    cadence = rec.get("cadence")
    if cadence is not None:
        frac = rec.get("fractional_cadence")
        if frac is not None:
            cadence = cadence + np.where(np.isfinite(frac), frac, 0.0)
        cadence = cadence * cadence_factor
    return Streams(
        time_s=(ts - start_unix).astype(np.float64),
        distance_m=_present(rec.get("distance")),
        lat_deg=_present(lat * SEMICIRCLE_DEG if lat is not None else None),
        lon_deg=_present(lon * SEMICIRCLE_DEG if lon is not None else None),
        altitude_m=_present(_prefer(rec.get("enhanced_altitude"), rec.get("altitude"))),
        speed_mps=_present(_prefer(rec.get("enhanced_speed"), rec.get("speed"))),
        hr_bpm=_present(rec.get("heart_rate")),
        cadence_spm=_present(cadence),
        power_w=_present(rec.get("power")),
        temperature_c=_present(rec.get("temperature")),
    )


def slice_streams(streams: Streams, mask: np.ndarray, shift_s: float) -> Streams:
    """The samples selected by ``mask``, with time re-based by ``shift_s``."""
    present = streams.present()
    out = {name: values[mask] for name, values in present.items()}
    time_s = out.pop("time_s") - shift_s
    return Streams(time_s=time_s, **{name: _present(v) for name, v in out.items()})
