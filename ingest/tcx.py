"""TCX (Garmin Training Center v2) -> one Activity per ``<Activity>`` element.

A multisport session (``MultiSportSession/FirstSport|NextSport/Activity``)
gives one Activity per part, as the file stores them. Trackpoint extensions
read: ``TPX/Speed``, ``TPX/RunCadence`` and ``TPX/Watts`` (any prefix).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml.etree import _Element

from ingest.errors import DecodeError, HostileInput, NotAnActivity
from ingest.model import Activity
from ingest.tcx_activity import (
    ALT,
    CAD,
    DIST,
    HR,
    LAT,
    LON,
    POWER,
    RUNCAD,
    SPEED,
    WIDTH,
    ActivityParts,
    build_activity,
    read_lap,
)
from ingest.xmlsafe import SafeIterparse, local, prepare, release
from ingest.xmltrack import to_float

_FIELDS: dict[str, int] = {
    "LatitudeDegrees": LAT,
    "LongitudeDegrees": LON,
    "AltitudeMeters": ALT,
    "DistanceMeters": DIST,
    "Value": HR,  # only HeartRateBpm has a Value inside a Trackpoint
    "Cadence": CAD,
    "RunCadence": RUNCAD,
    "Speed": SPEED,
    "Watts": POWER,
}
_TIME, _SKIP = -1, -2
_TAG_COLUMNS: dict[str, int] = {}
_NAN_ROW = [float("nan")] * WIDTH
NO_POINTS = "no timed track points"


def _column_of(tag: str) -> int:
    """Column for a full (namespaced) tag, memoised: files repeat a handful of tags."""
    idx = _TAG_COLUMNS.get(tag)
    if idx is None:
        name = tag[tag.rfind("}") + 1:]
        idx = _TIME if name == "Time" else _FIELDS.get(name, _SKIP)
        if len(_TAG_COLUMNS) < 4096:  # bounded: tag names come from the file
            _TAG_COLUMNS[tag] = idx
    return idx


def _row(el: _Element, convert: Callable[[Any], float]) -> tuple[list[float], str | None]:
    row = _NAN_ROW[:]
    when = None
    for child in el.iterdescendants("*"):
        idx = _column_of(child.tag)  # type: ignore[arg-type]  # a parsed element's tag is a str
        if idx >= 0:
            row[idx] = convert(child.text)
        elif idx == _TIME:
            when = child.text
    return row, when


class _Collector:
    """Trackpoints and laps of the Activity being read; reset after each one."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self.total = 0
        self.parts = ActivityParts()
        self.done: list[Activity] = []
        self.skipped = 0

    def point(self, el: _Element) -> None:
        if self.total >= self.max_points:
            raise HostileInput(f"more than {self.max_points} track points")
        try:  # the hot path: plain float() on every value
            row, when = _row(el, float)
        except (ValueError, TypeError):
            row, when = _row(el, to_float)  # an empty or junk value becomes NaN on its own
        self.parts.flat.extend(row)
        self.parts.times.append(when)
        self.total += 1

    def lap(self, el: _Element) -> None:
        self.parts.laps.append(read_lap(el))

    def activity(self, el: _Element) -> None:
        parts, self.parts = self.parts, ActivityParts()
        parts.sport_attr = el.get("Sport")
        for child in el:
            name = local(child.tag)
            if name == "Id":
                parts.id_text = child.text
            elif name == "Notes":
                parts.notes_text = child.text
            elif name in ("Creator", "Training"):
                for sub in child.iter("{*}Name"):
                    if name == "Creator" and parts.creator is None:
                        parts.creator = sub.text
                    elif name == "Training" and parts.plan_name is None:
                        parts.plan_name = sub.text
        activity = build_activity(parts)
        if activity is None:
            self.skipped += 1
        else:
            self.done.append(activity)


def decode_tcx(data: bytes, *, max_points: int = 2_000_000) -> list[Activity]:
    """Every Activity of a TCX file, in file order (format "tcx").

    Raises DecodeError for broken XML, HostileInput for entity tricks or more
    than ``max_points`` trackpoints, NotAnActivity for files without any
    timed activity (courses, workouts, empty exports).
    """
    col = _Collector(max_points)
    parser = SafeIterparse(prepare(data), tags=("{*}Trackpoint", "{*}Lap", "{*}Activity", "{*}Course"))
    for _, el in parser:
        tag: str = el.tag  # type: ignore[assignment]  # a parsed element's tag is a str (the stubs allow every tag-name form)
        kind = tag[tag.rfind("}") + 1:]
        if kind == "Trackpoint":
            col.point(el)
            release(el, col.total)
        elif kind == "Lap":
            col.lap(el)
            el.clear()  # not release(): the Activity's Id comes before its laps
        elif kind == "Activity":
            col.activity(el)
            el.clear()
        else:  # a Course's points and laps are a route, not a recording
            col.parts = ActivityParts()
            el.clear()
    root = parser.root
    if root is None or local(root.tag) != "TrainingCenterDatabase":
        found = local(root.tag) if root is not None else "none"
        raise DecodeError(f"not a TCX document (root element <{found}>)")
    if not col.done:
        what = "activities without timed trackpoints or laps" if col.skipped else "no activities (course, workout or empty export)"
        raise NotAnActivity(f"{NO_POINTS} ({what})")
    return col.done

