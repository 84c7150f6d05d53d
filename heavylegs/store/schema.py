"""Imports every table module so that ``metadata`` knows the whole schema."""
from __future__ import annotations

from heavylegs.store import tables  # noqa: F401
from heavylegs.metrics import tables as metric_tables  # noqa: F401
from heavylegs.alerts import tables as alert_tables  # noqa: F401
from heavylegs.strava import tables as strava_tables  # noqa: F401
from heavylegs.sources import tables as source_tables  # noqa: F401
