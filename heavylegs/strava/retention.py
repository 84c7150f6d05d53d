"""Dropping raw Strava streams after ``strava.raw_retention_days`` (0 = keep forever).

Only the raw JSON goes: the stored activity (its own compact streams) and
every derived metric stay, and the summary JSON is kept for dedup.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, update

from heavylegs.settings import Settings
from heavylegs.strava.tables import strava_activities


def apply_retention(engine: Engine, settings: Settings, now: datetime) -> int:
    """Raw stream blobs dropped."""
    days = float(settings.cfg.strava.raw_retention_days)
    if days <= 0:
        return 0
    cutoff = now.timestamp() - days * 86_400
    with engine.begin() as conn:
        done = conn.execute(
            update(strava_activities)
            .where(strava_activities.c.streams_z.is_not(None), strava_activities.c.fetched_ts < cutoff)
            .values(streams_z=None)
        )
    return int(done.rowcount or 0)
