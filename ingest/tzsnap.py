"""UTC offsets that some time zone really has.

A watch's local and UTC timestamps can be minutes apart for reasons that
have nothing to do with time zones (one written a little after the other, a
drifting clock): a difference of 18 minutes is not a +00:18 or +00:15 zone.
The offset is snapped to the zone at the activity's first GPS point when that
zone is within 30 minutes of it, else to the nearest offset any zone in the
tz database has at that date (all are multiples of 15 minutes).
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np

NEAR_S = 1800  # a file's offset this close to the GPS zone's is that zone's


@lru_cache(maxsize=64)
def real_offsets(year: int) -> tuple[int, ...]:
    """Every UTC offset (seconds, whole minutes) a tz-database zone has in January or July of ``year``."""
    found: set[int] = {0}
    for name in available_timezones():
        try:
            zone = ZoneInfo(name)
        except Exception:  # noqa: BLE001 - a broken tzdata entry must not stop an import
            continue
        for month in (1, 7):
            off = datetime(year, month, 15, 12, tzinfo=timezone.utc).astimezone(zone).utcoffset()
            if off is not None and int(off.total_seconds()) % 60 == 0:
                found.add(int(off.total_seconds()))
    return tuple(sorted(found))


def snap_offset(raw_s: int, when: datetime, zone_offset_s: int | None = None) -> int:
    """``raw_s`` as an offset a zone really has, preferring ``zone_offset_s`` (the GPS position's)."""
    if zone_offset_s is not None and abs(raw_s - zone_offset_s) <= NEAR_S:
        return zone_offset_s
    if raw_s % 3600 == 0 and -12 * 3600 <= raw_s <= 14 * 3600:
        return raw_s  # every whole hour in that range is a zone (Etc/GMT+12 ... Pacific/Kiritimati)
    year = min(max(when.year, 1970), 2100)
    offsets = np.array(real_offsets(year))
    return int(offsets[int(np.argmin(np.abs(offsets - raw_s)))])
