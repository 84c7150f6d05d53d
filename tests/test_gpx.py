"""GPX decoding, checked against gpxpy (the reference parser) and the corpus manifest."""
from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path

import gpxpy
import numpy as np
import pytest

from ingest.errors import DecodeError, HostileInput, NotAnActivity
from ingest.gpx import decode_gpx
from ingest.tcx import decode_tcx
from tests.helpers import CORPUS, FIXTURES, needs_corpus

SWEAT = FIXTURES / "sweatpy"
GPXPY = FIXTURES / "gpxpy"
R_MEAN = 6_371_008.8  # metres; the tests derive distances from it on their own


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def reference(path: Path) -> dict[str, np.ndarray]:
    """Timed points as gpxpy parses them, in file order, extensions read by local name."""
    gpx = gpxpy.parse(path.read_bytes().decode("utf-8-sig"))
    cols: dict[str, list[float]] = {k: [] for k in ("t", "lat", "lon", "ele", "hr", "cad", "atemp", "power")}
    for track in gpx.tracks:
        for seg in track.segments:
            for p in seg.points:
                if p.time is None:
                    continue
                ext = {_local(el.tag): el.text for e in p.extensions for el in e.iter()}
                cols["t"].append(p.time.astimezone(timezone.utc).timestamp())
                cols["lat"].append(p.latitude)
                cols["lon"].append(p.longitude)
                cols["ele"].append(np.nan if p.elevation is None else p.elevation)
                for key, name in (("hr", "hr"), ("cad", "cad"), ("atemp", "atemp"), ("power", "PowerInWatts")):
                    cols[key].append(float(ext[name]) if name in ext else np.nan)
    out = {k: np.array(v, dtype=np.float64) for k, v in cols.items()}
    out["length_2d"] = np.array([gpx.length_2d()])
    return out


def _same(ours: np.ndarray | None, ref: np.ndarray) -> None:
    if not np.isfinite(ref).any():
        assert ours is None or not np.isfinite(ours).any()
        return
    assert ours is not None
    np.testing.assert_array_equal(ours, ref)


REFERENCE_FILES = [
    SWEAT / "activity_5039744860.gpx",
    SWEAT / "4801048867_strava.gpx",
    SWEAT / "activity_4801048867.gpx",
    GPXPY / "cerknicko-jezero.gpx",
    GPXPY / "around-visnjan-with-car.gpx",
    GPXPY / "track-with-empty-segment.gpx",
    GPXPY / "track_with_speed.gpx",
]


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: p.name)
def test_points_match_gpxpy_value_for_value(path: Path) -> None:
    ref = reference(path)
    [act] = decode_gpx(path.read_bytes())
    s = act.streams
    assert act.format == "gpx" and act.notes == []
    assert len(s) == ref["t"].size
    np.testing.assert_allclose(act.start_utc.timestamp() + s.time_s, ref["t"], rtol=0, atol=1e-6)
    _same(s.lat_deg, ref["lat"])
    _same(s.lon_deg, ref["lon"])
    _same(s.altitude_m, ref["ele"])
    _same(s.hr_bpm, ref["hr"])
    _same(s.cadence_spm, ref["cad"])  # all cycling or untyped here: no doubling
    _same(s.temperature_c, ref["atemp"])
    assert act.elapsed_s == pytest.approx(ref["t"][-1] - ref["t"][0])
    # gpxpy's flat-earth approximation vs our haversine: well within 1 %.
    assert act.distance_m == pytest.approx(ref["length_2d"][0], rel=0.01)


def test_strava_and_garmin_exports_of_one_ride() -> None:
    [strava] = decode_gpx((SWEAT / "4801048867_strava.gpx").read_bytes())
    [garmin] = decode_gpx((SWEAT / "activity_4801048867.gpx").read_bytes())
    # Strava writes its numeric activity type ("1" = Ride); Garmin writes "cycling".
    assert strava.sport == garmin.sport == "cycling"
    assert (strava.name, strava.manufacturer) == ("Rondje achterhoek", "strava")
    assert (garmin.name, garmin.manufacturer) == ("Berkelland Fietsen", "garmin")
    assert strava.start_utc == garmin.start_utc == datetime(2020, 4, 18, 11, 10, 44, tzinfo=timezone.utc)
    np.testing.assert_array_equal(strava.streams.hr_bpm, garmin.streams.hr_bpm)
    assert strava.distance_m == pytest.approx(garmin.distance_m, rel=1e-3)
    assert strava.max_hr_bpm == float(np.nanmax(strava.streams.hr_bpm))


def _gpx(body: str, *, creator: str = "heavylegs-tests", trk_head: str = "", ns: str = "http://www.topografix.com/GPX/1/1") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="{creator}" xmlns="{ns}" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" '
        'xmlns:gpxpx="http://www.garmin.com/xmlschemas/PowerExtensionv1.xsd" '
        'xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0">'
        f"<trk>{trk_head}{body}</trk></gpx>"
    ).encode()


def _pt(lat: float | None, lon: float | None, when: str | None, inner: str = "") -> str:
    attrs = "" if lat is None else f' lat="{lat}" lon="{lon}"'
    return f"<trkpt{attrs}>{f'<time>{when}</time>' if when else ''}{inner}</trkpt>"


def test_running_cadence_is_doubled_and_extensions_read() -> None:
    ext = (
        "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>151</gpxtpx:hr><gpxtpx:cad>86</gpxtpx:cad>"
        "<gpxtpx:atemp>12.5</gpxtpx:atemp><gpxtpx:speed>3.25</gpxtpx:speed></gpxtpx:TrackPointExtension>"
        "<gpxpx:PowerExtension><gpxpx:PowerInWatts>250</gpxpx:PowerInWatts></gpxpx:PowerExtension></extensions>"
    )
    seg = "<trkseg>" + "".join(_pt(46.0 + i * 1e-4, 14.0, f"2024-03-01T08:00:0{i}Z", ext) for i in range(3)) + "</trkseg>"
    [act] = decode_gpx(_gpx(seg, trk_head="<name>Tempo</name><type>running</type>", creator="Garmin Connect"))
    s = act.streams
    assert (act.sport, act.name, act.manufacturer) == ("running", "Tempo", "garmin")
    assert s.cadence_spm.tolist() == [172.0] * 3  # 86 strides/min = 172 steps/min
    assert s.hr_bpm.tolist() == [151.0] * 3 and s.temperature_c.tolist() == [12.5] * 3
    assert s.speed_mps.tolist() == [3.25] * 3 and s.power_w.tolist() == [250.0] * 3
    [ride] = decode_gpx(_gpx(seg, trk_head="<type>biking</type>"))
    assert ride.sport == "cycling" and ride.streams.cadence_spm.tolist() == [86.0] * 3


def test_gpxdata_extensions_and_device_distance() -> None:
    pts = "".join(
        _pt(47.0, 8.0 + i * 1e-3, f"2014-01-17T08:33:{10 + i}.150Z",
            f"<extensions><gpxdata:hr>{120 + i}</gpxdata:hr><gpxdata:cadence>{80 + i}</gpxdata:cadence>"
            f"<gpxdata:temp>20.5</gpxdata:temp><gpxdata:distance>{i * 70.0}</gpxdata:distance></extensions>")
        for i in range(4)
    )
    [act] = decode_gpx(_gpx(f"<trkseg>{pts}</trkseg>", creator="Movescount - http://www.movescount.com", trk_head="<type>running</type>"))
    s = act.streams
    assert act.manufacturer == "suunto"
    # The watch's own distance wins over positions; gpxdata cadence is taken as written.
    assert s.distance_m.tolist() == [0.0, 70.0, 140.0, 210.0] and act.distance_m == 210.0
    assert s.cadence_spm.tolist() == [80.0, 81.0, 82.0, 83.0]
    assert s.hr_bpm.tolist() == [120.0, 121.0, 122.0, 123.0]
    assert s.time_s.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert act.start_utc == datetime(2014, 1, 17, 8, 33, 10, 150000, tzinfo=timezone.utc)


def test_segments_in_time_order_gap_not_counted_and_missing_positions() -> None:
    step = 1e-3  # degrees of latitude along a meridian: R * radians(step) metres per step
    later = "<trkseg>" + "".join(_pt(10.0 + i * step, 0.0, f"2024-05-01T10:00:{10 + i}Z") for i in range(3)) + "</trkseg>"
    first = "<trkseg>" + _pt(0.0, 0.0, "2024-05-01T10:00:00Z") + _pt(None, None, "2024-05-01T10:00:01Z") + _pt(step, 0.0, "2024-05-01T10:00:02Z") + "</trkseg>"
    untimed = "<trkseg>" + _pt(50.0, 0.0, None) + "</trkseg>"
    # GPX 1.0 namespace this time: local names are what count.
    [act] = decode_gpx(_gpx(later + first + untimed, ns="http://www.topografix.com/GPX/1/0"))
    s = act.streams
    one = R_MEAN * math.radians(step)
    assert s.time_s.tolist() == [0.0, 1.0, 2.0, 10.0, 11.0, 12.0]
    assert np.isnan(s.lat_deg[1]) and s.lat_deg[3] == 10.0
    np.testing.assert_allclose(s.distance_m, [0, 0, one, one, 2 * one, 3 * one], rtol=1e-9, atol=1e-9)
    assert act.distance_m == pytest.approx(3 * one) and act.elapsed_s == 12.0
    assert any("without a readable time" in n for n in act.notes)


def test_time_formats_offsets_fractions_and_naive() -> None:
    seg = "<trkseg>" + "".join(
        _pt(1.0, 1.0, when) for when in ("2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00.5Z", "2024-06-01T10:00:01.25", " 2024-06-01T10:00:02Z ")
    ) + "</trkseg>"
    [act] = decode_gpx(_gpx(seg))
    assert act.start_utc == datetime(2024, 6, 1, 10, 0, tzinfo=timezone.utc)
    assert act.streams.time_s.tolist() == [0.0, 0.5, 1.25, 2.0]
    assert act.utc_offset_s == 7200 and act.tz_source == "file"


def test_bom_whitespace_and_encoding_declaration() -> None:
    doc = _gpx("<trkseg>" + _pt(1, 1, "2024-01-01T00:00:00Z") + _pt(1, 1.001, "2024-01-01T00:00:05Z") + "</trkseg>", trk_head="<name>Café</name>")
    for variant in (b"\xef\xbb\xbf" + doc, b"\n  \r\n" + doc, doc.decode().encode("utf-16")):
        assert decode_gpx(variant)[0].name == "Café"
    latin = doc.decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    assert decode_gpx(latin)[0].name == "Café"


@pytest.mark.parametrize(
    ("name", "why"),
    [("route.gpx", "no track points"), ("track-with-extremes.gpx", "no timestamps"),
     ("unicode_with_bom.gpx", "no track points"), ("Mojstrovka.gpx", "plausible")],
)
def test_files_without_timed_points_are_not_activities(name: str, why: str) -> None:
    with pytest.raises(NotAnActivity, match="no timed track points") as info:
        decode_gpx((GPXPY / name).read_bytes())
    assert why in info.value.reason


def test_broken_and_foreign_documents() -> None:
    with pytest.raises(DecodeError, match=r"^invalid XML: line 3: ") as info:
        decode_gpx(b'<?xml version="1.0"?>\n<gpx><trk><trkseg>\n<trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time>')
    assert info.value.reason
    with pytest.raises(DecodeError, match="not a GPX document"):
        decode_gpx((SWEAT / "activity_5039744860.tcx").read_bytes())
    with pytest.raises(DecodeError, match="not a TCX document"):
        decode_tcx((SWEAT / "activity_5039744860.gpx").read_bytes())
    with pytest.raises(DecodeError):
        decode_gpx(b"")


def test_points_limit() -> None:
    seg = "<trkseg>" + "".join(_pt(1, 1, f"2024-01-01T00:00:{i:02d}Z") for i in range(20)) + "</trkseg>"
    assert len(decode_gpx(_gpx(seg), max_points=20)[0].streams) == 20
    with pytest.raises(HostileInput, match="more than 19 track points"):
        decode_gpx(_gpx(seg), max_points=19)


def _manifest() -> dict[str, dict[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return {row["path"]: row for row in csv.DictReader(fh, delimiter="\t")}


@needs_corpus
def test_goldencheetah_gpx_against_gpxpy_and_manifest() -> None:
    manifest = _manifest()
    for rel in ("GoldenCheetah/test/rides/Move_2014_01_17_09_33_11.gpx", "GoldenCheetah/test/rides/UrbanBiker2019-04-18_16-12.gpx"):
        path = CORPUS / rel
        ref = reference(path)
        [act] = decode_gpx(path.read_bytes())
        s = act.streams
        np.testing.assert_allclose(act.start_utc.timestamp() + s.time_s, ref["t"], rtol=0, atol=1e-6)
        _same(s.altitude_m, ref["ele"])
        _same(s.power_w, ref["power"])
        _same(s.cadence_spm, ref["cad"])
        assert act.elapsed_s == pytest.approx(float(manifest[rel]["duration_s"]), rel=0.01)
        assert act.distance_m == pytest.approx(float(manifest[rel]["distance_m"]), rel=0.01)
    # Movescount's gpxdata HR is a float per point, kept as such.
    move = decode_gpx((CORPUS / "GoldenCheetah/test/rides/Move_2014_01_17_09_33_11.gpx").read_bytes())[0]
    assert move.streams.hr_bpm[1] == pytest.approx(101.289987711843) and move.manufacturer == "suunto"
    with pytest.raises(NotAnActivity, match="no timed track points"):
        decode_gpx((CORPUS / "GoldenCheetah/test/rides/MetadataOnly.gpx").read_bytes())


@needs_corpus
def test_every_corpus_xml_file_decodes_or_says_why() -> None:
    manifest = _manifest()
    paths = [p for p in manifest if manifest[p]["format"] in ("gpx", "tcx")]
    assert len(paths) >= 40
    decoded = 0
    for rel in paths:
        row = manifest[rel]
        decode = decode_gpx if row["format"] == "gpx" else decode_tcx
        try:
            acts = decode((CORPUS / rel).read_bytes())
        except (NotAnActivity, DecodeError) as exc:
            assert exc.reason, rel
            continue
        decoded += 1
        for act in acts:
            assert act.format == row["format"] and act.elapsed_s >= 0, rel
            assert np.all(np.diff(act.streams.time_s) > 0), rel
        # gpxpy measures in file order; compare only files we took as they are.
        if row["format"] == "gpx" and not acts[0].notes and row["n_points"] == str(len(acts[0].streams)) and float(row["duration_s"] or 0) > 60:
            assert acts[0].elapsed_s == pytest.approx(float(row["duration_s"]), rel=0.01), rel
            assert acts[0].distance_m == pytest.approx(float(row["distance_m"]), rel=0.01), rel
    assert decoded >= 25
