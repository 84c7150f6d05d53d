"""FIT normalisation: real files -> Activity, checked against MANIFEST values and fitparse."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import fitparse
import numpy as np
import pytest

from ingest.errors import DecodeError, NotAnActivity
from ingest.fit import decode_fit, read_messages
from ingest.fit.messages import FitMessages
from ingest.fit.normalize import to_activities
from ingest.fit.sports import map_sport
from ingest.fit.streams import merge_by_timestamp
from tests.helpers import FIXTURES

FP = FIXTURES / "python-fitparse"
SW = FIXTURES / "sweatpy"


def activity(path: Path):
    [act] = decode_fit(path.read_bytes(), decoder="reference")
    return act


def fitparse_first(path: Path, name: str) -> dict[str, object]:
    msg = next(fitparse.FitFile(str(path)).get_messages(name))
    return {f.name: f.value for f in msg.fields}


# (file, sport, elapsed s, distance m) from the corpus MANIFEST (computed with fitdecode by its author)
RUNS = [
    ("activity-small-fenix2-run.fit", "running", 2832.0, 9008.2),
    ("2013-02-06-12-11-14.fit", "running", 2625.1, 4835.4),
    ("compressed-speed-distance.fit", "running", 3883.3, 10248.7),
    ("antfs-dump.63.fit", "running", 3426.9, None),
    ("strava-android-app-201.10-b1218918.fit", "running", 3558.0, 11274.0),
    ("garmin-fenix-5-run.fit", "running", 56.9, 157.6),
    ("Activity.fit", "running", 13.7, 5.7),
]


@pytest.mark.parametrize(("name", "sport", "elapsed", "distance"), RUNS)
def test_runs_match_manifest(name: str, sport: str, elapsed: float, distance: float | None) -> None:
    act = activity(FP / name)
    assert act.sport == sport and act.format == "fit" and act.name is None
    assert act.elapsed_s == pytest.approx(elapsed, rel=0.01)
    if distance is None:
        assert act.distance_m is None
    else:
        assert act.distance_m == pytest.approx(distance, rel=0.01)
    t = act.streams.time_s
    assert len(act.streams) > 0 and t[0] >= 0 and (np.diff(t) > 0).all()


@pytest.mark.parametrize("name", ["activity-small-fenix2-run.fit", "2013-02-06-12-11-14.fit", "garmin-fenix-5-run.fit"])
def test_start_time_is_the_session_start(name: str) -> None:
    session = fitparse_first(FP / name, "session")
    assert activity(FP / name).start_utc == session["start_time"].replace(tzinfo=timezone.utc)


def test_utc_offset_from_activity_local_timestamp() -> None:
    path = FP / "activity-small-fenix2-run.fit"
    msg = fitparse_first(path, "activity")
    expected = (msg["local_timestamp"] - msg["timestamp"]).total_seconds()
    act = activity(path)
    assert act.utc_offset_s == round(expected / 900) * 900 and act.tz_source == "file"


def test_no_local_timestamp_leaves_offset_unset() -> None:
    act = activity(FP / "2013-02-06-12-11-14.fit")
    assert act.utc_offset_s is None and act.tz_source is None


def test_device_and_streams() -> None:
    act = activity(FP / "activity-small-fenix2-run.fit")
    assert (act.manufacturer, act.product) == ("garmin", "fenix2")
    s = act.streams
    assert act.has_gps
    assert 40 < np.nanmedian(s.lat_deg) < 60 and -10 < np.nanmedian(s.lon_deg) < 30  # Europe
    assert s.power_w is None  # a Fenix 2 run has no power meter
    for name in ("distance_m", "altitude_m", "speed_mps", "hr_bpm", "cadence_spm"):
        values = getattr(s, name)
        assert values is not None and values.dtype == np.float64 and values.size == len(s)


def test_running_cadence_is_doubled_to_steps() -> None:
    path = FP / "activity-small-fenix2-run.fit"
    raw = [{f.name: f.value for f in m.fields} for m in fitparse.FitFile(str(path)).get_messages("record")]
    strides = np.array(
        [np.nan if r.get("cadence") is None else r["cadence"] + (r.get("fractional_cadence") or 0.0) for r in raw]
    )
    act = activity(path)
    assert act.streams.cadence_spm.size == strides.size
    np.testing.assert_allclose(act.streams.cadence_spm, 2 * strides, equal_nan=True)
    assert 140 < np.nanmedian(act.streams.cadence_spm) < 200  # steps/min of a real run


def test_cycling_cadence_stays_rpm() -> None:
    path = SW / "2020-06-01-16-52-40.fit"
    raw = [{f.name: f.value for f in m.fields} for m in fitparse.FitFile(str(path)).get_messages("record")]
    rpm = np.array([r.get("cadence") if r.get("cadence") is not None else np.nan for r in raw], dtype=float)
    act = activity(path)
    assert act.sport == "cycling"
    np.testing.assert_array_equal(act.streams.cadence_spm, rpm)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Settings.fit", "not an activity: settings file"),
        ("MonitoringFile.fit", "not an activity: monitoring file"),
        ("WorkoutRepeatSteps.fit", "not an activity: workout file"),
        ("WeightScaleSingleUser.fit", "not an activity: weight file"),
        ("DeveloperData.fit", "no activity data"),  # type activity, records without timestamps, no session
    ],
)
def test_not_activities(name: str, reason: str) -> None:
    with pytest.raises(NotAnActivity) as err:
        activity(FP / name)
    assert err.value.reason == reason


def test_truncated_file_gets_a_note() -> None:
    act = activity(FP / "activity-unexpected-eof.fit")
    assert act.notes and act.notes[0].startswith("truncated at byte ")
    assert act.notes[0].endswith("salvaged 14 records")
    assert act.elapsed_s == pytest.approx(13.7, rel=0.01)


def test_strava_android_partial_records_are_merged() -> None:
    # the app writes two record messages per second: position+speed, then distance
    path = FP / "strava-android-app-201.10-b1218918.fit"
    msgs = read_messages(path.read_bytes(), decoder="reference")
    distinct = np.unique(msgs.records()["timestamp"]).size
    act = to_activities(msgs)[0]
    assert len(act.streams) == distinct < msgs.records()["timestamp"].size
    assert np.isfinite(act.streams.distance_m).mean() > 0.95
    assert np.isfinite(act.streams.lat_deg).mean() > 0.95


def test_merge_by_timestamp_first_valid_value_wins() -> None:
    nan = np.nan
    cols = {
        "timestamp": np.array([12.0, 10.0, 10.0, 11.0, nan]),
        "heart_rate": np.array([130.0, nan, 120.0, 125.0, 99.0]),
        "distance": np.array([3.0, 1.0, 1.5, nan, 9.0]),
    }
    merged = merge_by_timestamp(cols)
    np.testing.assert_array_equal(merged["timestamp"], [10.0, 11.0, 12.0])
    np.testing.assert_array_equal(merged["heart_rate"], [120.0, 125.0, 130.0])
    np.testing.assert_array_equal(merged["distance"], [1.0, nan, 3.0])


def test_records_without_session_and_split_seconds() -> None:
    t0 = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc).timestamp()
    msgs = FitMessages(
        columns={
            "record": {
                "timestamp": np.array([t0, t0, t0 + 1, t0 + 2]),
                "distance": np.array([0.0, np.nan, 3.0, 6.5]),
                "heart_rate": np.array([np.nan, 140.0, 141.0, 142.0]),
                "cadence": np.array([85.0, np.nan, 86.0, 87.0]),
                "fractional_cadence": np.array([0.5, np.nan, 0.0, 0.0]),
            }
        },
        messages={"file_id": [{"type": "activity", "manufacturer": "garmin", "product": 1234}], "sport": [{"sport": "running", "sub_sport": "treadmill"}]},
    )
    [act] = to_activities(msgs)
    assert act.sport == "treadmill_running" and act.sub_sport == "treadmill"
    assert act.start_utc.timestamp() == t0 and act.elapsed_s == 2.0 and act.distance_m == 6.5
    np.testing.assert_array_equal(act.streams.hr_bpm, [140.0, 141.0, 142.0])
    np.testing.assert_array_equal(act.streams.cadence_spm, [171.0, 172.0, 174.0])
    assert act.product == "1234" and act.streams.lat_deg is None


@pytest.mark.parametrize(
    ("sport", "sub", "expected"),
    [
        ("running", "trail", "trail_running"),
        ("running", "generic", "running"),
        ("training", "strength_training", "strength_training"),
        ("fitness_equipment", "indoor_rowing", "rowing"),
        ("fitness_equipment", "treadmill", "treadmill_running"),
        ("generic", None, "other"),
        ("cycling", "indoor_cycling", "cycling"),
        (None, None, "other"),
        (254, 7, "other"),
    ],
)
def test_sport_mapping(sport: object, sub: object, expected: str) -> None:
    assert map_sport(sport, sub)[0] == expected


def test_triathlon_chained_file_has_legs() -> None:
    act = activity(FP / "sample_mulitple_header.fit")
    assert act.sport == "multisport"
    assert [leg.sport for leg in act.legs] == ["swimming", "transition", "cycling", "transition", "running"]
    # MANIFEST: 9491.3 s, 52533.7 m over the five sessions
    assert act.elapsed_s == pytest.approx(9491.3, rel=0.01)
    assert act.distance_m == pytest.approx(52533.7, rel=0.01)
    assert sum(leg.elapsed_s for leg in act.legs) == pytest.approx(act.elapsed_s)
    assert sum(len(leg.streams) for leg in act.legs) == len(act.streams)
    starts = [leg.start_utc for leg in act.legs]
    assert starts == sorted(starts) and starts[0] == act.start_utc
    for leg in act.legs:
        assert leg.format == "fit" and not leg.legs
        assert len(leg.streams) == 0 or leg.streams.time_s[0] >= 0
    run = act.legs[-1]
    assert 140 < np.nanmedian(run.streams.cadence_spm) < 200  # steps/min in the run leg only
    bike = act.legs[2]
    assert np.nanmedian(bike.streams.cadence_spm) < 120  # rpm on the bike


def test_run_row_multisport_without_gps() -> None:
    act = activity(SW / "6471559601_ACTIVITY.fit")
    assert act.sport == "multisport"
    assert [leg.sport for leg in act.legs] == ["running", "transition", "rowing"]
    assert act.elapsed_s == pytest.approx(59.6, rel=0.01)
    assert not act.has_gps


def test_hrm_swim_heart_rate_is_filled_from_hr_messages() -> None:
    path = FP / "event_timestamp.fit"
    msgs = read_messages(path.read_bytes(), decoder="reference")
    own = msgs.records().get("heart_rate")
    own_share = 0.0 if own is None else float(np.isfinite(own).mean())
    act = to_activities(msgs)[0]
    assert act.sport == "swimming" and act.sub_sport == "lap_swimming" and not act.has_gps
    assert act.distance_m == pytest.approx(2606.0, rel=0.01)  # MANIFEST, pool swim
    filled = float(np.isfinite(act.streams.hr_bpm).mean())
    assert filled > 0.9 and filled > own_share
    assert 60 < np.nanmedian(act.streams.hr_bpm) < 200


def test_truncated_with_nothing_usable_is_a_decode_error() -> None:
    msgs = FitMessages(messages={"file_id": [{"type": "activity"}]}, truncated=True, damage="truncated at byte 40")
    with pytest.raises(DecodeError, match="truncated at byte 40"):
        to_activities(msgs)


def test_auto_decoder_matches_reference() -> None:
    data = (FP / "garmin-fenix-5-run.fit").read_bytes()
    auto, refd = decode_fit(data)[0], decode_fit(data, decoder="reference")[0]
    assert (auto.start_utc, auto.elapsed_s, auto.distance_m, len(auto.streams)) == (
        refd.start_utc, refd.elapsed_s, refd.distance_m, len(refd.streams))
