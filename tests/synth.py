"""Synthetic activity files with known answers (for tests that need many distinct runs)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone


def gpx_run(
    start: datetime,
    *,
    duration_s: int = 1800,
    speed_mps: float = 3.0,
    lat0: float = 46.05,
    lon0: float = 14.5,
    hr_bpm: int | None = 150,
    step_s: int = 1,
    name: str = "Synthetic run",
) -> bytes:
    """A GPX 1.1 run heading north at constant speed, with Garmin TrackPointExtension HR."""
    start = start.astimezone(timezone.utc)
    deg_per_m = 1.0 / 111_195.0
    pts = []
    for t in range(0, duration_s + 1, step_s):
        lat = lat0 + speed_mps * t * deg_per_m
        when = (start + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ext = (
            f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr_bpm}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>"
            if hr_bpm
            else ""
        )
        pts.append(f'<trkpt lat="{lat:.7f}" lon="{lon0:.7f}"><ele>{300 + 5 * math.sin(t / 300):.1f}</ele><time>{when}</time>{ext}</trkpt>')
    body = "\n".join(pts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="heavylegs-tests" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        f"<trk><name>{name}</name><type>running</type><trkseg>\n{body}\n</trkseg></trk></gpx>\n"
    ).encode()


def day(n: int, hour: int = 7) -> datetime:
    return datetime(2024, 1, 1, hour, tzinfo=timezone.utc) + timedelta(days=n)
