"""Small synthetic FIT, GPX and TCX files with known flaws (issue 14), built in code.

Each mimics a real file the plausibility rules were written for: a VIRB camera
whose clock was never set, a placeholder-dated GPX, a TCX lap claiming hours
over a few trackpoints, heart-rate sentinels, a pool swim without speed samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from benchmarks.synth_fit import FIT_EPOCH_UNIX, FitWriter

SEMI = 2**31 / 180.0
U8, U16, U32, S32 = 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF  # FIT "invalid" values
RUNNING, CYCLING, SWIMMING = 1, 2, 5


def fit_seconds(dt: datetime) -> int:
    return int(dt.timestamp()) - FIT_EPOCH_UNIX


@dataclass
class Rec:
    t: int  # FIT seconds (below 0x10000000: device system time)
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    speed_mps: float | None = None
    hr: int | None = None


@dataclass
class Session:
    start: int
    elapsed_s: float
    timer_s: float | None = None
    distance_m: float | None = None
    sport: int = RUNNING
    avg_hr: int | None = None
    max_hr: int | None = None


def _or(value: float | None, invalid: int, scale: float = 1.0) -> int:
    return invalid if value is None else int(round(value * scale))


def fit_file(
    records: list[Rec],
    sessions: list[Session] = (),  # type: ignore[assignment]
    *,
    time_created: int | None = None,
    correlation: tuple[int, int] | None = None,  # (real FIT seconds, system seconds)
    gps_metadata: list[tuple[int, int]] = (),  # type: ignore[assignment]  # (system seconds, real FIT seconds)
    local_minus_utc_s: int | None = None,
) -> bytes:
    w = FitWriter()
    w.define(0, 0, [(0, 0x00), (1, 0x84), (2, 0x84), (4, 0x86)])
    w.message(0, 4, 1, 2530, U32 if time_created is None else time_created)
    if correlation is not None:
        w.define(1, 162, [(253, 0x86), (0, 0x84), (1, 0x86), (2, 0x84)])
        w.message(1, correlation[0], 0, correlation[1], 0)
    if gps_metadata:
        w.define(2, 160, [(253, 0x86), (6, 0x86)])
        for system, real in gps_metadata:
            w.message(2, system, real)
    w.define(3, 20, [(253, 0x86), (0, 0x85), (1, 0x85), (5, 0x86), (6, 0x84), (3, 0x02)])
    for r in records:
        w.message(
            3, r.t, _or(r.lat, S32, SEMI), _or(r.lon, S32, SEMI), _or(r.distance_m, U32, 100.0),
            _or(r.speed_mps, U16, 1000.0), _or(r.hr, U8),
        )
    w.define(4, 18, [(253, 0x86), (2, 0x86), (7, 0x86), (8, 0x86), (9, 0x86), (5, 0x00), (16, 0x02), (17, 0x02)])
    for s in sessions:
        w.message(
            4, s.start + int(s.elapsed_s), s.start, _or(s.elapsed_s, U32, 1000.0), _or(s.timer_s, U32, 1000.0),
            _or(s.distance_m, U32, 100.0), s.sport, _or(s.avg_hr, U8), _or(s.max_hr, U8),
        )
    end = records[-1].t if records else (sessions[0].start if sessions else 0)
    if local_minus_utc_s is not None:
        w.define(5, 34, [(253, 0x86), (5, 0x86), (1, 0x84)])
        w.message(5, end, end + local_minus_utc_s, 1)
    return w.finish()


def run_records(t0: int, seconds: int, *, step: int = 1, lat0: float = 46.05, lon0: float = 14.5, speed: float = 3.0,
                hr: int | None = 150) -> list[Rec]:
    """A steady run heading north: one record every ``step`` seconds."""
    out = []
    for i in range(0, seconds + 1, step):
        d = speed * i
        out.append(Rec(t0 + i, lat0 + d / 111_195.0, lon0, d, speed, hr))
    return out


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gpx(points: list[tuple[float, float, str | None, int | None]], sport: str = "running") -> bytes:
    """GPX 1.1 from (lat, lon, time text or None, hr or None) points."""
    body = []
    for lat, lon, when, hr in points:
        t = f"<time>{when}</time>" if when else ""
        ext = f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>" if hr is not None else ""
        body.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}">{t}{ext}</trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="heavylegs-tests" '
        'xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><type>{sport}</type><trkseg>{''.join(body)}</trkseg></trk></gpx>"
    ).encode()


def steady_gpx_points(start: datetime, seconds: int, step: int = 1, speed: float = 3.0, hr: int | None = 150) -> list[tuple[float, float, str | None, int | None]]:
    return [(46.05 + speed * i / 111_195.0, 14.5, iso(start + timedelta(seconds=i)), hr) for i in range(0, seconds + 1, step)]


def tcx(laps: list[tuple[str, float, float, int | None, int | None, list[tuple[str, float, int | None]]]], sport: str = "Running") -> bytes:
    """TCX from laps: (start, TotalTimeSeconds, DistanceMeters, avg HR, max HR, [(time, distance, hr)])."""
    out = []
    for start, total_s, dist_m, avg, mx, points in laps:
        hr = ""
        if avg is not None:
            hr += f"<AverageHeartRateBpm><Value>{avg}</Value></AverageHeartRateBpm>"
        if mx is not None:
            hr += f"<MaximumHeartRateBpm><Value>{mx}</Value></MaximumHeartRateBpm>"
        tps = "".join(
            f"<Trackpoint><Time>{t}</Time><DistanceMeters>{d}</DistanceMeters>"
            + (f"<HeartRateBpm><Value>{h}</Value></HeartRateBpm>" if h is not None else "")
            + "</Trackpoint>"
            for t, d, h in points
        )
        out.append(f'<Lap StartTime="{start}"><TotalTimeSeconds>{total_s}</TotalTimeSeconds><DistanceMeters>{dist_m}</DistanceMeters>{hr}<Track>{tps}</Track></Lap>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="{sport}"><Id>{laps[0][0]}</Id>{"".join(out)}</Activity></Activities></TrainingCenterDatabase>'
    ).encode()
