"""TCX decoding, checked against a plain xml.etree reading of the same files."""
from __future__ import annotations

import csv
import gzip
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from ingest.errors import DecodeError, NotAnActivity
from ingest.gpx import decode_gpx
from ingest.tcx import decode_tcx
from tests.helpers import CORPUS, FIXTURES, needs_corpus

SWEAT = FIXTURES / "sweatpy"
SAMPLE = FIXTURES / "stravalib" / "sample.tcx.gz"
FIELDS = ("LatitudeDegrees", "LongitudeDegrees", "AltitudeMeters", "DistanceMeters", "Value", "Cadence", "Speed", "Watts", "RunCadence")


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def reference(data: bytes) -> list[dict]:
    """Per Activity: Sport, laps and trackpoints by a naive full-tree walk.

    Points repeating a timestamp keep only their first copy (the decoder's documented rule).
    """
    out = []
    for act in ET.fromstring(data).iter():
        if _local(act.tag) != "Activity":
            continue
        seen: set[str] = set()
        cols: dict[str, list[float]] = {k: [] for k in ("t", *FIELDS)}
        laps = []
        for el in act.iter():
            if _local(el.tag) == "Lap":
                laps.append({_local(c.tag): c for c in el})
            if _local(el.tag) != "Trackpoint":
                continue
            values = {_local(c.tag): c.text for c in el.iter()}
            if values["Time"] in seen:
                continue
            seen.add(values["Time"])
            cols["t"].append(datetime.fromisoformat(values["Time"]).timestamp())
            for key in FIELDS:
                cols[key].append(float(values[key]) if key in values else np.nan)
        lap_timers = [float(lap["TotalTimeSeconds"].text) for lap in laps]
        timer = sum(lap_timers)
        dist = sum(float(lap["DistanceMeters"].text) for lap in laps)
        out.append({"sport": act.get("Sport"), "laps": len(laps), "timer": timer, "lap_timers": lap_timers, "dist": dist,
                    **{k: np.array(v, dtype=np.float64) for k, v in cols.items()}})
    return out


def _same(ours: np.ndarray | None, ref: np.ndarray) -> None:
    if not np.isfinite(ref).any():
        assert ours is None or not np.isfinite(ours).any()
    else:
        assert ours is not None
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("path", [SWEAT / "activity_5039744860.tcx", SWEAT / "3173437224.tcx", SAMPLE], ids=lambda p: p.name)
def test_trackpoints_match_a_plain_xml_reading(path: Path) -> None:
    data = _read(path)
    [ref] = reference(data)
    [act] = decode_tcx(data)
    s = act.streams
    assert np.all(np.diff(ref["t"]) > 0)  # these files are in time order
    assert act.format == "tcx" and len(s) == ref["t"].size and len(act.laps) == ref["laps"]
    np.testing.assert_allclose(act.start_utc.timestamp() + s.time_s, ref["t"], rtol=0, atol=1e-6)
    _same(s.lat_deg, ref["LatitudeDegrees"])
    _same(s.lon_deg, ref["LongitudeDegrees"])
    _same(s.altitude_m, ref["AltitudeMeters"])
    _same(s.distance_m, ref["DistanceMeters"])
    _same(s.hr_bpm, ref["Value"])
    _same(s.speed_mps, ref["Speed"])
    _same(s.power_w, ref["Watts"])
    cadence = ref["Cadence"] * (2 if act.sport == "running" else 1)
    _same(s.cadence_spm, cadence)
    assert act.timer_s == pytest.approx(ref["timer"]) and act.distance_m == pytest.approx(ref["dist"])
    assert act.elapsed_s == pytest.approx(ref["t"][-1] - ref["t"][0])
    assert [lap.timer_s for lap in act.laps] == pytest.approx(ref["lap_timers"])


def test_polar_running_file_metadata() -> None:
    [act] = decode_tcx(_read(SWEAT / "3173437224.tcx"))
    assert (act.sport, act.manufacturer, act.product, act.name) == ("running", "polar", "m400", "Hardlopen")
    assert act.start_utc == datetime(2019, 1, 29, 10, 25, 13, tzinfo=timezone.utc)
    # Lap averages are weighted by lap time; the max is the laps' max.
    assert act.max_hr_bpm == 168.0 and 100 < act.avg_hr_bpm < 168


def test_same_ride_as_tcx_and_gpx() -> None:
    [tcx] = decode_tcx(_read(SWEAT / "activity_5039744860.tcx"))
    [gpx] = decode_gpx(_read(SWEAT / "activity_5039744860.gpx"))
    assert (tcx.sport, gpx.sport, tcx.manufacturer, tcx.product) == ("cycling", "cycling", "garmin", "edge 1000")
    assert tcx.start_utc == gpx.start_utc and tcx.elapsed_s == gpx.elapsed_s == 126.0
    common, ti, gi = np.intersect1d(tcx.streams.time_s, gpx.streams.time_s, return_indices=True)
    assert common.size >= 90
    np.testing.assert_array_equal(tcx.streams.hr_bpm[ti], gpx.streams.hr_bpm[gi])
    np.testing.assert_allclose(tcx.streams.lat_deg[ti], gpx.streams.lat_deg[gi], atol=1e-9)


def _tcx(activities: str, head: bytes = b"") -> bytes:
    return head + (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><Activities>' + activities + "</Activities></TrainingCenterDatabase>"
    ).encode()


def _tp(when: str, extra: str = "") -> str:
    return f"<Trackpoint><Time>{when}</Time>{extra}</Trackpoint>"


def _lap(start: str, secs: float, metres: float, points: str, hr: tuple[int, int] = (140, 160)) -> str:
    return (f'<Lap StartTime="{start}"><TotalTimeSeconds>{secs}</TotalTimeSeconds><DistanceMeters>{metres}</DistanceMeters>'
            f"<AverageHeartRateBpm><Value>{hr[0]}</Value></AverageHeartRateBpm><MaximumHeartRateBpm><Value>{hr[1]}</Value></MaximumHeartRateBpm>"
            f"<Track>{points}</Track></Lap>")


def test_run_cadence_laps_totals_and_several_activities() -> None:
    ext = "<HeartRateBpm><Value>150</Value></HeartRateBpm><Extensions><ns3:TPX><ns3:RunCadence>88</ns3:RunCadence><ns3:Speed>3.1</ns3:Speed></ns3:TPX></Extensions>"
    run = ('<Activity Sport="Running"><Id>2024-04-01T06:00:00Z</Id>'
           + _lap("2024-04-01T06:00:00Z", 50, 150.0, _tp("2024-04-01T06:00:00Z", ext) + _tp("2024-04-01T06:00:50Z", ext), (140, 150))
           + _lap("2024-04-01T06:01:40Z", 150, 450.0, _tp("2024-04-01T06:01:40Z", ext) + _tp("2024-04-01T06:04:10Z", ext), (160, 175))
           + "<Creator><Name>Forerunner 15 </Name></Creator></Activity>")
    ride = '<Activity Sport="Biking"><Id>2024-04-02T06:00:00Z</Id>' + _lap("2024-04-02T06:00:00Z", 10, 0.0, _tp("2024-04-02T06:00:00Z") + _tp("2024-04-02T06:00:10Z")) + "</Activity>"
    first, second = decode_tcx(_tcx(run + ride, head=b"\r\n   "))  # whitespace before the declaration
    assert (first.sport, second.sport) == ("running", "cycling")
    assert (first.manufacturer, first.product) == ("garmin", "forerunner 15")
    assert first.streams.cadence_spm.tolist() == [176.0] * 4 and first.streams.speed_mps.tolist() == [3.1] * 4
    assert first.elapsed_s == 250.0 and first.timer_s == 200.0 and first.distance_m == 600.0
    assert first.avg_hr_bpm == pytest.approx((140 * 50 + 160 * 150) / 200) and first.max_hr_bpm == 175.0
    assert [(lap.start_offset_s, lap.elapsed_s, lap.timer_s) for lap in first.laps] == [(0.0, 100.0, 50.0), (100.0, 150.0, 150.0)]
    assert second.start_utc == datetime(2024, 4, 2, 6, 0, tzinfo=timezone.utc) and second.elapsed_s == 10.0


def test_laps_without_trackpoints_and_files_without_activities() -> None:
    manual = '<Activity Sport="Running"><Id>2024-04-01T06:00:00Z</Id>' + _lap("2024-04-01T06:00:00Z", 1800, 5000.0, "") + "</Activity>"
    [act] = decode_tcx(_tcx(manual))
    assert (act.elapsed_s, act.timer_s, act.distance_m, len(act.streams)) == (1800.0, 1800.0, 5000.0, 0)
    course = ('<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
              "<Courses><Course><Name>Loop</Name><Track>" + _tp("2024-01-01T00:00:00Z") + "</Track></Course></Courses></TrainingCenterDatabase>").encode()
    with pytest.raises(NotAnActivity, match="no timed track points"):
        decode_tcx(course)
    with pytest.raises(DecodeError, match="invalid XML: line"):
        decode_tcx(_tcx(manual)[:-40])


def _manifest() -> dict[str, dict[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return {row["path"]: row for row in csv.DictReader(fh, delimiter="\t")}


@needs_corpus
def test_goldencheetah_tcx_files() -> None:
    manifest = _manifest()
    rel = "GoldenCheetah/test/rides/activity_165850259_multi-session.tcx"
    acts = decode_tcx((CORPUS / rel).read_bytes())
    assert [a.sport for a in acts] == ["running", "cycling", "running", "cycling"]
    assert sum(a.timer_s for a in acts) == pytest.approx(float(manifest[rel]["duration_s"]), rel=0.01)
    assert sum(a.distance_m for a in acts) == pytest.approx(float(manifest[rel]["distance_m"]), rel=0.01)
    assert len({a.start_utc.date() for a in acts}) == 4

    rel = "GoldenCheetah/test/runs/10kUNLP2014-Garmin15.tcx"
    [run] = decode_tcx((CORPUS / rel).read_bytes())
    assert (run.sport, run.manufacturer, run.product, run.streams.hr_bpm) == ("running", "garmin", "forerunner 15", None)
    assert run.distance_m == pytest.approx(float(manifest[rel]["distance_m"]), rel=0.01)

    rel = "GoldenCheetah/test/swims/GarminHRMswim.tcx"
    [swim] = decode_tcx((CORPUS / rel).read_bytes())
    assert swim.sport == "other" and not swim.has_gps and swim.streams.hr_bpm is not None


@needs_corpus
def test_tcx_totals_agree_with_manifest() -> None:
    manifest = _manifest()
    checked = 0
    for rel, row in manifest.items():
        if row["format"] != "tcx" or "activities in one file" in row["features"]:
            continue
        [act] = decode_tcx((CORPUS / rel).read_bytes())
        assert act.elapsed_s == pytest.approx(float(row["duration_s"]), rel=0.01), rel
        assert act.timer_s == pytest.approx(float(row["timer_s"]), rel=0.01), rel
        assert act.distance_m == pytest.approx(float(row["distance_m"]), rel=0.01, abs=0.5), rel
        checked += 1
    assert checked >= 12
