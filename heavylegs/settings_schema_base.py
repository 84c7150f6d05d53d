"""The base every settings section derives from, and the checks several sections share."""
from __future__ import annotations

import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

# Unknown keys are refused: a typo in a user's file is an error at start, not a
# setting that silently does nothing. (A key added to default.toml without its
# field here is only logged at run time; tests/test_config_files.py fails on it.)
STRICT_EXTRA: Literal["ignore", "forbid"] = "forbid"

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class Section(BaseModel):
    """A frozen table of ``config/default.toml``; every field carries its default and a description."""

    model_config = ConfigDict(extra=STRICT_EXTRA, frozen=True, populate_by_name=True)


def check_zone(name: str | None) -> str | None:
    """``name`` if it is an IANA time zone (or empty/unset); a ValueError pydantic reports under the key."""
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name like \"Europe/Berlin\")") from None
    return name


def check_clock(text: str) -> time:
    """``"HH:MM"`` (24-hour) as a time; a ValueError otherwise."""
    m = _CLOCK.match(text)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"must be a 24-hour time like \"07:30\", not {text!r}")
    return time(int(m.group(1)), int(m.group(2)))


def check_window(text: str) -> tuple[time, time] | None:
    """``"22:00-07:00"`` as (start, end); None when empty; a ValueError otherwise."""
    raw = text.strip()
    if not raw:
        return None
    parts = raw.split("-")
    if len(parts) != 2:
        raise ValueError(f"must look like \"22:00-07:00\" (start-end, local time), not {raw!r}")
    start, end = check_clock(parts[0]), check_clock(parts[1])
    if start == end:
        raise ValueError(f"{raw!r} starts and ends at the same time; leave it empty to switch quiet hours off")
    return start, end
