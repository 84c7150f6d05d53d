"""Issue 14: every decoded activity is plausible, or says why not (ingest level, synthetic files)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from benchmarks.synth_fit import FitWriter
from ingest.decode import decode_bytes
from ingest.errors import NotAnActivity
from ingest.plausible import BOUNDS
from ingest.tzsnap import snap_offset
from tests.plausibility_files import (
    SWIMMING,
    Rec,
    Session,
    fit_file,
    fit_seconds,
    gpx,
    iso,
    run_records,
    steady_gpx_points,
    tcx,
)

UTC = timezone.utc
REAL = datetime(2017, 6, 28, 2, 34, 13, tzinfo=UTC)


def _one(data: bytes, fmt: str) -> object:
    acts = decode_bytes(data, fmt)
    assert len(acts) == 1
    return acts[0]


# --- 1/2: a device's real time, or time_known = false -----------------------------------------------


def test_timestamp_correlation_gives_a_clockless_camera_its_real_time() -> None:
    # VIRB: power-on second 69 is 2017-06-28T02:34:13Z, so record 67 is 02:34:11Z.
    data = fit_file(run_records(67, 600, step=1), [Session(67, 600.0, 600.0)], correlation=(fit_seconds(REAL), 69))
    act = _one(data, "fit")
    assert act.time_known
    assert act.start_utc == datetime(2017, 6, 28, 2, 34, 11, tzinfo=UTC)
    assert act.elapsed_s == 600.0
    assert any("timestamp_correlation" in n for n in act.notes)


def test_gps_metadata_then_time_created_give_the_real_time() -> None:
    gps = [(100, fit_seconds(REAL) + 31), (200, fit_seconds(REAL) + 131)]  # system 100 = REAL + 31 s
    act = _one(fit_file(run_records(67, 300), [Session(67, 300.0)], gps_metadata=gps), "fit")
    assert act.time_known and act.start_utc == REAL + timedelta(seconds=31 - 33)
    act = _one(fit_file(run_records(67, 300), [Session(67, 300.0)], time_created=fit_seconds(REAL)), "fit")
    assert act.time_known and act.start_utc == REAL  # the file was created when recording started


def test_a_file_without_any_real_time_is_kept_but_marked_time_unknown() -> None:
    act = _one(fit_file(run_records(16441241, 1200, step=5), [Session(16441241, 1200.0, 1200.0, 3600.0)]), "fit")
    assert not act.time_known
    assert act.start_utc.year == 1990
    assert act.elapsed_s == 1200.0 and act.distance_m == pytest.approx(3600.0)
    assert any("set-start" in n for n in act.notes)


def test_records_before_the_first_fix_without_a_real_time_are_dropped() -> None:
    t0 = fit_seconds(REAL)
    recs = run_records(2, 20) + run_records(t0, 600)  # 21 records at power-on seconds, then real ones
    act = _one(fit_file(recs, [Session(2, 618.0, 618.0)]), "fit")
    assert act.time_known and act.start_utc == REAL and act.elapsed_s == 618.0  # the session, within tolerance
    assert any("dropped 21 records stamped with the device's power-on time" in n for n in act.notes)


def test_a_date_in_the_future_is_not_believed() -> None:
    future = datetime.now(UTC) + timedelta(days=400)
    act = _one(gpx(steady_gpx_points(future, 600, step=5)), "gpx")
    assert not act.time_known
    assert any("is in the future" in n for n in act.notes)


# --- 3: placeholder and stray times, absurd gaps, sport bounds ----------------------------------------


def test_gpx_placeholder_times_are_dropped_not_a_fifteen_year_activity() -> None:
    real = datetime(2005, 3, 1, 10, 0, tzinfo=UTC)
    points = [(46.0 + i * 1e-5, 14.5, "1989-12-31T00:00:00Z", None) for i in range(494)]
    points += [(46.01, 14.5, iso(real), None), (46.0101, 14.5, iso(real + timedelta(seconds=5)), None)]
    act = _one(gpx(points), "gpx")
    assert act.start_utc == real and act.elapsed_s == 5.0
    assert any("494 placeholder timestamps (1989-12-31T00:00:00Z)" in n for n in act.notes)


def test_a_point_a_year_away_is_split_off_with_a_note() -> None:
    start = datetime(2020, 5, 1, 7, 0, tzinfo=UTC)
    points = steady_gpx_points(start, 1800, step=10)
    points.append((46.3, 14.5, iso(start + timedelta(days=365)), 150))
    act = _one(gpx(points), "gpx")
    assert act.start_utc == start and act.elapsed_s == 1800.0
    assert any("dropped 1 sample separated from the rest of the track by more than 12 h" in n for n in act.notes)


def test_a_gps_teleport_does_not_count_as_distance() -> None:
    start = datetime(2020, 5, 1, 7, 0, tzinfo=UTC)
    points = steady_gpx_points(start, 600, step=10)  # 1.8 km north
    last = points[-1]
    # 2,655 km east within 10 s, then a few points there.
    far = [(last[0], last[1] + 2_655_000 / (111_195.0 * np.cos(np.radians(last[0]))) * 1.0 + k * 1e-4, iso(start + timedelta(seconds=610 + 10 * k)), 150) for k in range(3)]
    act = _one(gpx(points + far), "gpx")
    assert act.distance_m is not None and act.distance_m < 2_000.0
    assert act.distance_m / act.elapsed_s <= BOUNDS["running"].max_speed_mps
    assert any("km of distance covered faster than 12.5 m/s" in n for n in act.notes)


def test_a_run_longer_than_its_sport_allows_is_trimmed() -> None:
    start = datetime(2020, 5, 1, 7, 0, tzinfo=UTC)
    act = _one(gpx(steady_gpx_points(start, 60 * 3600, step=600, speed=0.5)), "gpx")
    assert act.elapsed_s == 48 * 3600.0
    assert any("after 48 h" in n for n in act.notes)


# --- 4: heart-rate sentinels --------------------------------------------------------------------------


def test_heart_rate_sentinels_are_missing_in_samples_summaries_and_laps() -> None:
    start = datetime(2021, 4, 1, 6, 0, tzinfo=UTC)
    points = [(iso(start + timedelta(seconds=i)), 3.0 * i, h) for i, h in enumerate([255, 0, 140, 150, 160, 254])]
    act = _one(tcx([(iso(start), 5.0, 15.0, 255, 255, points)]), "tcx")
    hr = act.streams.hr_bpm
    assert np.isnan(hr[[0, 1, 5]]).all()
    assert act.avg_hr_bpm == pytest.approx(150.0) and act.max_hr_bpm == 160.0  # from the valid samples
    assert act.laps[0].avg_hr_bpm is None and act.laps[0].max_hr_bpm is None

    t0 = fit_seconds(start)
    recs = [Rec(t0 + i, distance_m=3.0 * i, speed_mps=3.0, hr=0) for i in range(120)]
    act = _one(fit_file(recs, [Session(t0, 119.0, 119.0, 357.0, avg_hr=0, max_hr=0)]), "fit")
    assert act.avg_hr_bpm is None and act.max_hr_bpm is None and act.streams.hr_bpm is None


# --- 5: totals that contradict the samples ------------------------------------------------------------


def test_tcx_lap_totals_over_five_trackpoints_are_kept_consistently() -> None:
    start = datetime(2012, 7, 1, 8, 0, tzinfo=UTC)
    points = [(iso(start + timedelta(seconds=i)), 0.0, None) for i in range(5)]
    act = _one(tcx([(iso(start), 18930.0, 180220.0, None, None, points)], sport="Biking"), "tcx")
    assert act.elapsed_s == 18930.0 and act.timer_s == 18930.0 and act.moving_s == 18930.0
    assert act.distance_m == 180220.0
    assert act.distance_m / act.moving_s < 10.0  # 9.5 m/s, not 45 km/s
    assert any("rest on 5 samples spanning 4 s" in n for n in act.notes)


def test_fit_session_shorter_than_its_records_takes_the_records_span() -> None:
    t0 = fit_seconds(datetime(2019, 9, 1, 5, 0, tzinfo=UTC))
    recs = run_records(t0, 99_990, step=10, speed=0.8)
    act = _one(fit_file(recs, [Session(t0, 30877.0, 30877.0)]), "fit")
    assert act.elapsed_s == 99_990.0
    assert act.timer_s == 30877.0 and act.moving_s <= act.timer_s
    assert any("shorter than its samples span (99990 s)" in n for n in act.notes)


def test_pool_swim_without_speed_samples_moves_for_its_timer() -> None:
    t0 = fit_seconds(datetime(2018, 1, 10, 18, 0, tzinfo=UTC))
    recs = [Rec(t0 + i, hr=120) for i in range(0, 3506, 60)]
    recs[1] = Rec(t0 + 45, distance_m=50.0, speed_mps=1.1, hr=120)  # one length with speed
    act = _one(fit_file(recs, [Session(t0, 3505.0, 3505.0, 1700.0, sport=SWIMMING)]), "fit")
    assert act.moving_s == 3505.0 and act.distance_m == 1700.0


def test_timer_never_exceeds_elapsed_and_moving_never_exceeds_timer() -> None:
    t0 = fit_seconds(datetime(2025, 2, 19, 0, 10, tzinfo=UTC))
    act = _one(fit_file(run_records(t0, 1632), [Session(t0, 1632.0, 2760.0, 4896.0)]), "fit")
    assert act.timer_s == 1632.0 and act.moving_s <= 1632.0
    assert any("timer time (2760 s) exceeds its elapsed time (1632 s)" in n for n in act.notes)


def test_chained_sessions_with_one_start_keep_each_leg_consistent() -> None:
    t0 = fit_seconds(datetime(2016, 8, 20, 9, 0, tzinfo=UTC))
    data = fit_file(run_records(t0, 3600, step=5), [Session(t0, 840.0, 840.0), Session(t0, 3600.0, 3600.0)])
    act = _one(data, "fit")
    for leg in act.legs:
        assert leg.moving_s is not None and leg.moving_s <= leg.elapsed_s + 60
        assert leg.timer_s is None or leg.timer_s <= leg.elapsed_s + 60


# --- 6: offsets that exist -----------------------------------------------------------------------------


def test_offsets_snap_to_real_ones_preferring_the_gps_zone() -> None:
    when = datetime(2019, 7, 1, tzinfo=UTC)
    assert snap_offset(18 * 60, when) == 0  # no zone is +00:18 or +00:15
    assert snap_offset(5 * 3600 + 44 * 60, when) == 5 * 3600 + 45 * 60  # Nepal
    assert snap_offset(3600 + 58 * 60, when, zone_offset_s=7200) == 7200
    t0 = fit_seconds(datetime(2019, 7, 1, 6, 0, tzinfo=UTC))
    act = _one(fit_file(run_records(t0, 600), [Session(t0, 600.0)], local_minus_utc_s=18 * 60), "fit")
    # Ljubljana (first GPS point) is +02:00 in July; 18 minutes is nowhere near it: nearest real offset.
    assert act.utc_offset_s == 0
    act = _one(fit_file(run_records(t0, 600), [Session(t0, 600.0)], local_minus_utc_s=7200 - 120), "fit")
    assert act.utc_offset_s == 7200 and act.timezone == "Europe/Ljubljana"


# --- 9: junk is not an activity -------------------------------------------------------------------------


def _junk() -> bytes:
    """34 bytes: a header, one record definition (timestamp, heart rate) and one record at power-on + 2 s."""
    w = FitWriter()
    w.define(0, 20, [(253, 0x86), (3, 0x02)])
    w.message(0, 2, 120)
    return w.finish()


def test_a_few_bytes_with_one_timestamp_are_not_an_activity() -> None:
    data = _junk()
    assert len(data) == 34
    with pytest.raises(NotAnActivity, match="no plausible samples"):
        decode_bytes(data, "fit")
    # Two samples of sentinels only are no better.
    with pytest.raises(NotAnActivity, match="no plausible samples"):
        decode_bytes(fit_file([Rec(fit_seconds(REAL), hr=255), Rec(fit_seconds(REAL) + 1, hr=0)]), "fit")
