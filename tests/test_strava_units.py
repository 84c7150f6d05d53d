"""Pure pieces: the rate budget's windows and reserve, and the summary/streams mapping."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from ingest.strava import mapping
from ingest.strava.budget import BudgetExhausted, RateBudget
from ingest.strava.oauth import authorize_url, missing_scope
from tests.strava_fake import FakeClock


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _budget(now: str, read: tuple[int, int] = (100, 1000), overall: tuple[int, int] = (200, 2000), usage: tuple[int, int] = (0, 0)) -> tuple[RateBudget, FakeClock]:
    clock = FakeClock(_at(now))
    budget = RateBudget(reserve=0.10, clock=clock)
    budget.observe({"X-ReadRateLimit-Limit": f"{read[0]},{read[1]}", "X-ReadRateLimit-Usage": f"{usage[0]},{usage[1]}",
                    "X-RateLimit-Limit": f"{overall[0]},{overall[1]}", "X-RateLimit-Usage": f"{usage[0]},{usage[1]}"})
    return budget, clock


def test_reserve_is_kept_for_live_sync() -> None:
    budget, _ = _budget("2024-06-03T12:01:00")
    for _ in range(90):
        budget.acquire()
    with pytest.raises(BudgetExhausted) as info:
        budget.acquire()
    assert info.value.resume_at == _at("2024-06-03T12:15:00")
    for _ in range(10):  # the live sync may use the last 10%
        budget.acquire(use_reserve=True)
    with pytest.raises(BudgetExhausted):
        budget.acquire(use_reserve=True)


def test_windows_reset_on_the_quarter_hour_and_at_midnight_utc() -> None:
    budget, clock = _budget("2024-06-03T12:14:59", usage=(90, 500))
    assert budget.available() == 0
    clock.advance(1)
    assert budget.available() == 90  # a fresh 15-minute window at 12:15:00
    daily, clock = _budget("2024-06-03T23:50:00", usage=(10, 900))
    with pytest.raises(BudgetExhausted) as info:
        daily.acquire()
    assert info.value.resume_at == _at("2024-06-04T00:00:00") and info.value.window == "daily"
    clock.advance(600)
    daily.acquire()


def test_headers_override_local_counts_and_429_blocks_the_window() -> None:
    budget, _ = _budget("2024-06-03T12:20:00", usage=(50, 50))
    assert budget.available() == 40
    # Another client pushed usage past the limit; requests over it still count.
    budget.observe({"X-ReadRateLimit-Usage": "101,600", "X-RateLimit-Usage": "101,600"})
    resume, window = budget.exhaust()
    assert (resume, window) == (_at("2024-06-03T12:30:00"), "15-minute")
    assert budget.available(use_reserve=True) < 0


def test_time_estimate_follows_the_limits() -> None:
    budget, _ = _budget("2024-06-03T12:05:00")
    assert budget.seconds_for(90) == 0
    # 90 now; the next 180 take two more windows: done within the window starting 12:30.
    assert budget.seconds_for(270) == _at("2024-06-03T12:30:00") - _at("2024-06-03T12:05:00")
    # 900 a day at a 10% reserve: 1000 requests spill into tomorrow (100 more: two windows after midnight).
    assert budget.seconds_for(1000) == _at("2024-06-04T00:15:00") - _at("2024-06-03T12:05:00")


def test_authorize_url_and_scope_check() -> None:
    url = authorize_url("https://www.strava.com/oauth", "42", "http://127.0.0.1:8721/oauth/strava/callback", "abc")
    assert url == ("https://www.strava.com/oauth/authorize?client_id=42&redirect_uri=http://127.0.0.1:8721/oauth/strava/callback"
                   "&response_type=code&approval_prompt=auto&scope=read,activity:read_all&state=abc")
    assert missing_scope("read,activity:read") is None and missing_scope("activity:read_all") is None
    assert "activity:read" in (missing_scope("read") or "") and "granted: nothing" in (missing_scope("") or "")


def test_summary_mapping() -> None:
    summary = {"id": 1, "start_date": "2024-03-31T00:30:00Z", "elapsed_time": 3600, "moving_time": 3500, "distance": 10000.0,
               "sport_type": "Run", "trainer": True, "utc_offset": 7200.0, "timezone": "(GMT+01:00) Europe/Paris", "name": "Night run"}
    act = mapping.to_activity(summary, None)
    assert (act.sport, act.sub_sport, act.utc_offset_s, act.timezone, act.tz_source) == ("treadmill_running", "treadmill", 7200, "Europe/Paris", "strava")
    assert act.start_utc == datetime(2024, 3, 31, 0, 30, tzinfo=timezone.utc) and len(act.streams) == 0
    assert mapping.match_key(summary) == {"start_ts": _at("2024-03-31T00:30:00"), "elapsed_s": 3600.0, "distance_m": 10000.0, "format": "strava"}
    assert mapping.tz_name("(GMT-08:00) America/Los_Angeles") == "America/Los_Angeles" and mapping.tz_name("garbage") is None
    assert mapping.sport_of({"sport_type": "VirtualRun"})[0] == "treadmill_running"
    assert mapping.wanted({"type": "Run"}, ["Run"]) and not mapping.wanted({"sport_type": "Ride", "type": "Ride"}, ["Run"])


def test_stream_mapping_aligns_and_scales() -> None:
    raw = {
        "time": {"data": [0, 1, 2, 3]},
        "latlng": {"data": [[48.1, 2.1], [48.2, 2.2], None, [48.4, 2.4]]},
        "cadence": {"data": [80, 81, 82, 83]},
        "heartrate": {"data": [120, 121]},  # shorter: padded with NaN
        "temp": {"data": [20, 20, 21, 21, 22]},  # longer: cut
    }
    run = mapping.to_streams(raw, running=True)
    assert run.cadence_spm.tolist() == [160.0, 162.0, 164.0, 166.0]
    assert run.lat_deg[1] == 48.2 and math.isnan(run.lon_deg[2])
    assert np.isnan(run.hr_bpm[2:]).all() and run.temperature_c.tolist() == [20.0, 20.0, 21.0, 21.0]
    assert run.distance_m is None
    ride = mapping.to_streams(raw, running=False)
    assert ride.cadence_spm.tolist() == [80.0, 81.0, 82.0, 83.0]
    assert len(mapping.to_streams({}, running=True)) == 0
