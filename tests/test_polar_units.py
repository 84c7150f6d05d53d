"""Polar's list fields and rate-limit headers, checked against hand-computed values."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from heavylegs.sources.polar_api import duration_s, listed, start_ts
from ingest.polar.errors import RateLimited
from ingest.polar.ratelimit import RateWindows


def test_iso_durations() -> None:
    assert duration_s("PT1H2M3S") == 3723.0  # 3600 + 120 + 3
    assert duration_s("PT2832.5S") == 2832.5
    assert duration_s("P1DT30M") == 88200.0  # 86400 + 1800
    assert duration_s("PT0S") is None and duration_s("garbage") is None and duration_s(None) is None


def test_local_start_with_offset_is_utc() -> None:
    # 16:45:08 local at UTC+120 min is 14:45:08Z
    ex = {"id": "x", "start_time": "2015-08-15T16:45:08", "start_time_utc_offset": 120, "duration": "PT47M12S", "distance": 9008.2, "sport": "OTHER"}
    assert start_ts(ex) == datetime(2015, 8, 15, 14, 45, 8, tzinfo=timezone.utc).timestamp()
    item = listed(ex)
    assert (item.remote_id, item.durations_s, item.distance_m, item.wanted) == ("x", [2832.0], 9008.2, True)  # OTHER is still fetched
    assert start_ts({"start_time": "2015-08-15T16:45:08", "start_time_utc_offset": -300}) == \
        datetime(2015, 8, 15, 21, 45, 8, tzinfo=timezone.utc).timestamp()


def test_rate_windows_stop_short_of_either_limit_and_resume_at_the_reset() -> None:
    now = [1000.0]
    windows = RateWindows(reserve_fraction=0.1, clock=lambda: now[0])
    windows.update({"RateLimit-Usage": "80, 100", "RateLimit-Limit": "100, 1000", "RateLimit-Reset": "300, 40000"})
    windows.check()  # 80 < 90 and 100 < 900: go on
    windows.update({"RateLimit-Usage": "90, 101", "RateLimit-Limit": "100, 1000", "RateLimit-Reset": "250, 39950"})
    with pytest.raises(RateLimited) as exc:
        windows.check()  # 90 >= 100 * 0.9: the 15-minute window is used up to the reserve
    assert exc.value.resume_at == 1250.0
    now[0] = 1251.0
    windows.check()  # reset passed
    windows.update({"RateLimit-Usage": "1, 950", "RateLimit-Limit": "100, 1000", "RateLimit-Reset": "899, 30000"})
    with pytest.raises(RateLimited) as exc:
        windows.check()  # now the daily window is the full one
    assert exc.value.resume_at == 31251.0
    assert windows.resume_at(exceeded=True) == 31251.0
