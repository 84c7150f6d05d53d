"""GPX/TCX decoding speed: ours vs gpxpy (GPX) and a plain xml.etree walk (TCX), same run.

    .venv/bin/python benchmarks/bench_xml.py [--hours 3] [--repeat 3]

Builds a synthetic 1 Hz run with Garmin TrackPointExtension hr/cad (GPX, the
way Garmin Connect writes it) and the same run as TCX, checks that both
parsers see identical points, then prints points/s, MB/s, the speed ratio
and the peak RSS of a fresh process doing one parse. Not run by the tests.
"""
from __future__ import annotations

import argparse
import gc
import math
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.gpx import decode_gpx  # noqa: E402
from ingest.tcx import decode_tcx  # noqa: E402

START = datetime(2024, 5, 5, 7, 0, tzinfo=timezone.utc)


def _track(hours: float) -> list[tuple[str, float, float, float, int, int]]:
    pts = []
    for t in range(int(hours * 3600) + 1):
        when = (START + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lat = 46.05 + 0.01 * math.sin(t / 600.0) + t * 2.5e-5
        lon = 14.50 + 0.01 * math.cos(t / 600.0)
        pts.append((when, lat, lon, 300 + 20 * math.sin(t / 900.0), 120 + (t * 7) % 60, 82 + t % 9))
    return pts


def make_gpx(hours: float) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="Garmin Connect" version="1.1" '
             'xmlns="http://www.topografix.com/GPX/1/1" xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
             "  <trk>\n    <name>Long run</name>\n    <type>running</type>\n    <trkseg>\n"]
    for when, lat, lon, ele, hr, cad in _track(hours):
        parts.append(
            f'      <trkpt lat="{lat:.29f}" lon="{lon:.29f}">\n        <ele>{ele:.20f}</ele>\n        <time>{when}</time>\n'
            "        <extensions>\n          <ns3:TrackPointExtension>\n"
            f"            <ns3:hr>{hr}</ns3:hr>\n            <ns3:cad>{cad}</ns3:cad>\n"
            "          </ns3:TrackPointExtension>\n        </extensions>\n      </trkpt>\n")
    parts.append("    </trkseg>\n  </trk>\n</gpx>\n")
    return "".join(parts).encode()


def make_tcx(hours: float) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
             'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n<Activities><Activity Sport="Running">'
             f'<Id>{START.isoformat()}</Id><Lap StartTime="{START.isoformat()}"><TotalTimeSeconds>{hours * 3600}</TotalTimeSeconds>'
             "<DistanceMeters>0</DistanceMeters><Track>\n"]
    for when, lat, lon, ele, hr, cad in _track(hours):
        parts.append(
            f"  <Trackpoint><Time>{when}</Time><Position><LatitudeDegrees>{lat:.15f}</LatitudeDegrees>"
            f"<LongitudeDegrees>{lon:.15f}</LongitudeDegrees></Position><AltitudeMeters>{ele:.3f}</AltitudeMeters>"
            f"<HeartRateBpm><Value>{hr}</Value></HeartRateBpm><Extensions><ns3:TPX><ns3:RunCadence>{cad}</ns3:RunCadence>"
            "</ns3:TPX></Extensions></Trackpoint>\n")
    parts.append("</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n")
    return "".join(parts).encode()


def gpxpy_columns(data: bytes) -> dict[str, np.ndarray]:
    import gpxpy

    gpx = gpxpy.parse(data.decode("utf-8"))
    rows = []
    for track in gpx.tracks:
        for seg in track.segments:
            for p in seg.points:
                ext = {el.tag.rsplit("}", 1)[-1]: el.text for e in p.extensions for el in e.iter()}
                rows.append((p.time.timestamp(), p.latitude, p.longitude, p.elevation, float(ext["hr"]), float(ext["cad"])))
    arr = np.array(rows)
    return dict(zip(("t", "lat", "lon", "ele", "hr", "cad"), arr.T))


def etree_tcx_columns(data: bytes) -> dict[str, np.ndarray]:
    """What a hand-written TCX reader does: full tree, then findall per trackpoint."""
    ns = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2", "x": "http://www.garmin.com/xmlschemas/ActivityExtension/v2"}
    rows = []
    for tp in ET.fromstring(data).iterfind(".//t:Trackpoint", ns):
        rows.append((datetime.fromisoformat(tp.findtext("t:Time", namespaces=ns)).timestamp(),
                     float(tp.findtext("t:Position/t:LatitudeDegrees", namespaces=ns)),
                     float(tp.findtext("t:Position/t:LongitudeDegrees", namespaces=ns)),
                     float(tp.findtext("t:AltitudeMeters", namespaces=ns)),
                     float(tp.findtext("t:HeartRateBpm/t:Value", namespaces=ns)),
                     float(tp.findtext("t:Extensions/x:TPX/x:RunCadence", namespaces=ns))))
    arr = np.array(rows)
    return dict(zip(("t", "lat", "lon", "ele", "hr", "cad"), arr.T))


def ours_columns(decoder: Callable[[bytes], list], data: bytes) -> dict[str, np.ndarray]:
    [act] = decoder(data)
    s = act.streams
    # Ours reports steps per minute for running; the references report one leg.
    return {"t": act.start_utc.timestamp() + s.time_s, "lat": s.lat_deg, "lon": s.lon_deg,
            "ele": s.altitude_m, "hr": s.hr_bpm, "cad": s.cadence_spm / 2}


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb(kind: str, path: Path) -> float:
    """Peak RSS of a fresh interpreter doing one parse (includes the interpreter itself)."""
    out = subprocess.run([sys.executable, __file__, "--rss-child", kind, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def _rss_child(kind: str, path: str) -> None:
    data = Path(path).read_bytes()
    {"gpxpy": gpxpy_columns, "etree": etree_tcx_columns,
     "ours-gpx": lambda d: ours_columns(decode_gpx, d), "ours-tcx": lambda d: ours_columns(decode_tcx, d)}[kind](data)
    # ru_maxrss would carry the parent's peak over fork+exec; VmHWM belongs to this image only.
    status = Path("/proc/self/status")
    if status.exists():
        hwm = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        print(int(hwm.split()[1]) / 1024)
    else:
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        _rss_child(*args.rss_child)
        return
    gpx, tcx = make_gpx(args.hours), make_tcx(args.hours)
    cases = [
        ("GPX", gpx, "gpxpy", gpxpy_columns, "ours-gpx", lambda d: ours_columns(decode_gpx, d)),
        ("TCX", tcx, "etree", etree_tcx_columns, "ours-tcx", lambda d: ours_columns(decode_tcx, d)),
    ]
    print(f"{'file':4} {'parser':9} {'MB':>6} {'points':>7} {'s':>7} {'points/s':>10} {'MB/s':>6} {'ratio':>6} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, data, ref_name, ref_fn, our_name, our_fn in cases:
            ref, ours = ref_fn(data), our_fn(data)
            for key in ref:  # identical points, or the timing means nothing
                np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-6 if key == "t" else 0, err_msg=f"{label} {key}")
            n, mb = ref["t"].size, len(data) / 1e6
            path = Path(tmp) / f"run.{label.lower()}"
            path.write_bytes(data)
            t_ref = best_time(lambda fn=ref_fn, d=data: fn(d), args.repeat)
            t_our = best_time(lambda fn=our_fn, d=data: fn(d), args.repeat)
            for name, secs, ratio, kind in ((ref_name, t_ref, 1.0, ref_name), ("heavylegs", t_our, t_ref / t_our, our_name)):
                print(f"{label:4} {name:9} {mb:6.1f} {n:7d} {secs:7.3f} {n / secs:10.0f} {mb / secs:6.1f} {ratio:6.1f} {peak_rss_mb(kind, path):11.0f}")


if __name__ == "__main__":
    main()
