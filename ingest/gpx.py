"""GPX 1.0/1.1 -> one Activity per file.

Elements are matched on local names, so GPX 1.0, 1.1 and every extension
namespace prefix (gpxtpx, ns3, gpxdata, gpxpx...) read alike. Supported point
extensions: Garmin TrackPointExtension v1/v2 (hr, cad, atemp, speed),
cluetrust gpxdata from Movescount (hr, cadence, temp, distance), Garmin
PowerExtension (PowerInWatts) and a bare ``power`` element (Strava).
"""
from __future__ import annotations

import numpy as np
from lxml.etree import _Element

from ingest.errors import DecodeError, HostileInput, NotAnActivity
from ingest.model import RUNNING_SPORTS, Activity
from ingest.xmlmeta import device_from_creator, sport_from_text
from ingest.xmlsafe import SafeIterparse, local, prepare, release
from ingest.xmltime import local_offset_s, parse_times, to_datetime
from ingest.xmltrack import build_streams, cumulative_distance, hr_summary, order_points, seconds_since, to_float

# Column layout of one raw point.
LAT, LON, ELE, HR, CAD_TPX, CAD_DATA, TEMP, SPEED, DIST, POWER = range(10)
_WIDTH = 10
_FIELDS: dict[str, int] = {
    "ele": ELE,
    "hr": HR,
    "cad": CAD_TPX,  # Garmin TPX: one leg when running
    "cadence": CAD_DATA,  # gpxdata: as the device reports it
    "atemp": TEMP,
    "temp": TEMP,
    "speed": SPEED,
    "distance": DIST,
    "power": POWER,
    "PowerInWatts": POWER,
}
_NAN_ROW = [float("nan")] * _WIDTH
_TIME, _SKIP = -1, -2
_TAG_COLUMNS: dict[str, int] = {}


def _column_of(tag: str) -> int:
    """Column for a full (namespaced) tag, memoised: files repeat a handful of tags."""
    idx = _TAG_COLUMNS.get(tag)
    if idx is None:
        name = tag[tag.rfind("}") + 1:]
        idx = _TIME if name == "time" else _FIELDS.get(name, _SKIP)
        if len(_TAG_COLUMNS) < 4096:  # bounded: tag names come from the file
            _TAG_COLUMNS[tag] = idx
    return idx


NO_POINTS = "no timed track points"
_ELEMENT = "*"  # iterdescendants filter: elements only (no entity nodes), and faster than none


class _Collector:
    """Raw per-point values gathered while the parser streams through the file."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self.flat: list[float] = []  # _WIDTH floats per point; one flat list keeps the GC out of it
        self.count = 0
        self.times: list[str | None] = []
        self.seg_ends: list[int] = []
        self.track_name: str | None = None
        self.track_type: str | None = None

    def point(self, el: _Element) -> None:
        if self.count >= self.max_points:
            raise HostileInput(f"more than {self.max_points} track points")
        row = _NAN_ROW[:]
        when = None
        try:  # inline float(): this loop is the decoder's hot path
            get = el.get
            lat, lon = get("lat"), get("lon")
            if lat is not None:
                row[LAT] = float(lat)
            if lon is not None:
                row[LON] = float(lon)
            for child in el.iterdescendants(_ELEMENT):
                idx = _column_of(child.tag)  # type: ignore[arg-type]  # str, as above
                if idx >= 0:
                    row[idx] = float(child.text)  # type: ignore[arg-type]  # None raises TypeError: the careful path
                elif idx == _TIME:
                    when = child.text
        except (ValueError, TypeError):
            row, when = self._careful(el)
        self.flat.extend(row)
        self.times.append(when)
        self.count += 1

    @staticmethod
    def _careful(el: _Element) -> tuple[list[float], str | None]:
        """Slow path for a point with an empty or non-numeric value: NaN for that value only."""
        row = _NAN_ROW[:]
        when = None
        row[LAT] = to_float(el.get("lat"))
        row[LON] = to_float(el.get("lon"))
        for child in el.iterdescendants(_ELEMENT):
            idx = _column_of(child.tag)  # type: ignore[arg-type]  # str, as above
            if idx >= 0:
                row[idx] = to_float(child.text)
            elif idx == _TIME:
                when = child.text
        return row, when

    def track(self, el: _Element) -> None:
        for child in el:
            name = local(child.tag)
            if name == "name" and self.track_name is None and child.text and child.text.strip():
                self.track_name = child.text.strip()
            elif name == "type" and self.track_type is None and child.text and child.text.strip():
                self.track_type = child.text.strip()


def _metadata_name(root: _Element) -> str | None:
    """GPX 1.1 ``metadata/name`` or GPX 1.0 ``name`` under the root."""
    for child in root:
        name = local(child.tag)
        if name == "name" and child.text and child.text.strip():
            return child.text.strip()
        if name == "metadata":
            for sub in child:
                if local(sub.tag) == "name" and sub.text and sub.text.strip():
                    return sub.text.strip()
    return None


def _collect(data: bytes, max_points: int) -> tuple[_Collector, _Element]:
    col = _Collector(max_points)
    parser = SafeIterparse(data, tags=("{*}trkpt", "{*}trkseg", "{*}trk"))
    for _, el in parser:
        tag: str = el.tag  # type: ignore[assignment]  # a parsed element's tag is a str (the stubs allow every tag-name form)
        kind = tag[tag.rfind("}") + 1:]
        if kind == "trkpt":
            col.point(el)
            release(el, col.count)
        elif kind == "trkseg":
            col.seg_ends.append(col.count)
            el.clear()  # not release(): the siblings before a segment are the track's name and type
        else:
            col.track(el)
            el.clear()
    root = parser.root
    if root is None or local(root.tag) != "gpx":
        found = local(root.tag) if root is not None else "none"
        raise DecodeError(f"not a GPX document (root element <{found}>)")
    return col, root


def decode_gpx(data: bytes, *, max_points: int = 2_000_000) -> list[Activity]:
    """All tracks and segments of a GPX file as one Activity (format "gpx").

    Raises DecodeError for broken XML, HostileInput for entity tricks or more
    than ``max_points`` points, NotAnActivity when no point carries a time.
    """
    col, root = _collect(prepare(data), max_points)
    n = col.count
    if n == 0:
        raise NotAnActivity(f"{NO_POINTS} (no track points: route, waypoints or metadata only)")
    raw = np.array(col.flat, dtype=np.float64).reshape(n, _WIDTH)
    ends = np.array(col.seg_ends + [n], dtype=np.int64)
    segments = np.repeat(np.arange(ends.size), np.diff(np.concatenate(([0], ends))))
    times = parse_times(col.times)
    if bool(np.isnat(times).all()):
        raise NotAnActivity(f"{NO_POINTS} (the track has no timestamps)")
    ordered = order_points(times, segments)
    if ordered.index.size < 2:
        # One instant is a waypoint, not a recording; GPSBabel also writes 1901 for "no time".
        why = "only one point has a usable time" if ordered.index.size else "no timestamp is plausible"
        raise NotAnActivity(f"{NO_POINTS} ({why})")
    pts = raw[ordered.index]
    sport = sport_from_text(col.track_type)

    # Garmin's TPX cad counts one leg when running (strides per minute); we store steps.
    tpx_cad = pts[:, CAD_TPX] * (2.0 if sport in RUNNING_SPORTS else 1.0)
    cadence = np.where(np.isfinite(tpx_cad), tpx_cad, pts[:, CAD_DATA])
    lat, lon = pts[:, LAT], pts[:, LON]
    distance = pts[:, DIST] if bool(np.isfinite(pts[:, DIST]).any()) else cumulative_distance(lat, lon, ordered.segments)

    streams = build_streams(
        seconds_since(ordered.times, ordered.times[0]),
        {
            "distance_m": distance,
            "lat_deg": lat,
            "lon_deg": lon,
            "altitude_m": pts[:, ELE],
            "speed_mps": pts[:, SPEED],
            "hr_bpm": pts[:, HR],
            "cadence_spm": cadence,
            "power_w": pts[:, POWER],
            "temperature_c": pts[:, TEMP],
        },
    )
    total_m = None
    if streams.distance_m is not None:
        finite = streams.distance_m[np.isfinite(streams.distance_m)]
        total_m = float(finite[-1]) if finite.size else None
    avg_hr, max_hr = hr_summary(streams.hr_bpm)
    manufacturer, product = device_from_creator(root.get("creator"))
    offset = local_offset_s(col.times[int(ordered.index[0])])
    return [
        Activity(
            start_utc=to_datetime(ordered.times[0]),
            sport=sport,
            format="gpx",
            elapsed_s=float(streams.time_s[-1]),
            name=col.track_name or _metadata_name(root),
            utc_offset_s=offset,
            tz_source="file" if offset is not None else None,
            manufacturer=manufacturer,
            product=product,
            distance_m=total_m,
            avg_hr_bpm=avg_hr,
            max_hr_bpm=max_hr,
            streams=streams,
            notes=ordered.notes,
        )
    ]

