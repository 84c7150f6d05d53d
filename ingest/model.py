"""The normalised activity that every decoder produces.

Units live in the names. Streams are float64 numpy arrays of one length,
with NaN where a sample lacks a value; a stream a file never carries is None.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "time_s",
    "distance_m",
    "lat_deg",
    "lon_deg",
    "altitude_m",
    "speed_mps",
    "hr_bpm",
    "cadence_spm",
    "power_w",
    "temperature_c",
)

# Richer formats win when copies of one run are merged (FIT > TCX > GPX).
FORMAT_RANK: dict[str, int] = {"fit": 3, "strava": 2, "tcx": 2, "gpx": 1}

RUNNING_SPORTS = frozenset({"running", "trail_running", "treadmill_running"})


@dataclass(slots=True)
class Streams:
    """Per-sample arrays; ``time_s`` is seconds since the activity's start."""

    time_s: np.ndarray
    distance_m: np.ndarray | None = None
    lat_deg: np.ndarray | None = None
    lon_deg: np.ndarray | None = None
    altitude_m: np.ndarray | None = None
    speed_mps: np.ndarray | None = None
    hr_bpm: np.ndarray | None = None
    cadence_spm: np.ndarray | None = None
    power_w: np.ndarray | None = None
    temperature_c: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def present(self) -> dict[str, np.ndarray]:
        """The streams this activity carries, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def empty(cls) -> Streams:
        return cls(time_s=np.zeros(0, dtype=np.float64))


@dataclass(slots=True)
class Lap:
    start_offset_s: float
    elapsed_s: float | None = None
    timer_s: float | None = None
    distance_m: float | None = None
    avg_hr_bpm: float | None = None
    max_hr_bpm: float | None = None
    # What the lap was for, lower case: FIT lap.intensity (active, rest, warmup, cooldown,
    # recovery, interval, other) or TCX Intensity (active, resting); None when not recorded.
    intensity: str | None = None
    # What ended the lap, lower case: FIT lap_trigger (manual, time, distance, position_*,
    # session_end, ...) or TCX TriggerMethod (manual, distance, location, time, heartrate).
    trigger: str | None = None


@dataclass(slots=True)
class Activity:
    """One recorded session, in UTC, with its totals, laps and streams.

    ``sport`` is a lower-case FIT-style name: running, trail_running,
    treadmill_running, walking, hiking, cycling, swimming, strength_training,
    rowing, multisport, transition or other. ``legs`` holds the parts of a
    multisport activity; each leg is an Activity of its own.
    """

    start_utc: datetime
    sport: str
    format: str
    elapsed_s: float
    sub_sport: str | None = None
    name: str | None = None
    utc_offset_s: int | None = None
    timezone: str | None = None
    tz_source: str | None = None  # "file", "csv", "coordinates", "default"
    manufacturer: str | None = None
    product: str | None = None
    timer_s: float | None = None
    moving_s: float | None = None
    distance_m: float | None = None
    avg_hr_bpm: float | None = None
    max_hr_bpm: float | None = None
    laps: list[Lap] = field(default_factory=list)
    streams: Streams = field(default_factory=Streams.empty)
    legs: list[Activity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # salvage warnings etc.
    # False when the file gives no real date (a device whose clock was never set):
    # the activity is kept but left out of the analysis until the user sets its start.
    time_known: bool = True

    @property
    def has_gps(self) -> bool:
        lat = self.streams.lat_deg
        return lat is not None and bool(np.isfinite(lat).any())

    @property
    def device(self) -> str | None:
        parts = [p for p in (self.manufacturer, self.product) if p]
        return " ".join(parts) if parts else None


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime; naive inputs are taken to be UTC already."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
