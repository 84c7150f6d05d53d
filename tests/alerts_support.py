"""History builders for the alert tests: real rows in the real metrics/store tables.

The daily rows are derived here from a load series with the textbook
formulas (EWMA acute 7 / chronic 28 days, Williams 2017; Foster monotony;
consecutive active days), independently of heavylegs' metrics code.
"""
from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, insert

from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.settings import Settings
from heavylegs.store.tables import activities, athletes, sources

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def add_athlete(engine: Engine, name: str = "me") -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(athletes).values(name=name, created_ts=time.time())).inserted_primary_key[0])


def daily_rows(loads: list[float], start: date) -> list[dict[str, Any]]:
    la, lc = 2 / (7 + 1), 2 / (28 + 1)
    acute = chronic = 0.0
    streak = 0
    rows = []
    for i, load in enumerate(loads):
        acute = load * la + (1 - la) * acute
        chronic = load * lc + (1 - lc) * chronic
        streak = streak + 1 if load > 0 else 0
        week = loads[max(0, i - 6) : i + 1]
        sd = statistics.pstdev(week) if len(week) == 7 else 0.0
        mono = statistics.fmean(week) / sd if sd > 0 else None
        rows.append({
            "date": start + timedelta(days=i), "load": load, "acute": acute, "chronic": chronic,
            "acwr": None, "acwr_uncoupled": None, "acwr_ewma": acute / chronic if chronic > 0 else None,
            "ctl": chronic, "atl": acute, "tsb": chronic - acute, "monotony": mono,
            "strain": None if mono is None else mono * sum(week), "run_streak": streak,
        })
    return rows


def add_days(engine: Engine, athlete_id: int, loads: list[float], end: date = TODAY) -> list[dict[str, Any]]:
    """Daily rows for ``loads`` ending on ``end``; returns them."""
    rows = daily_rows(loads, end - timedelta(days=len(loads) - 1))
    with engine.begin() as conn:
        conn.execute(insert(daily_metrics), [r | {"athlete_id": athlete_id} for r in rows])
    return rows


def add_activity(engine: Engine, athlete_id: int, day: date, hour: int = 7, distance_m: float = 10000.0) -> int:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)
    with engine.begin() as conn:
        return int(conn.execute(insert(activities).values(
            athlete_id=athlete_id, start_ts=start.timestamp(), local_date=day, sport="running", format="fit",
            elapsed_s=3600.0, moving_s=3500.0, distance_m=distance_m, has_gps=True, n_samples=0, laps_json="[]",
            revision=1, created_ts=time.time(), updated_ts=time.time(),
        )).inserted_primary_key[0])


def add_run(engine: Engine, athlete_id: int, day: date, hour: int = 7, **metrics: Any) -> int:
    """An activity plus its activity_metrics row; ``metrics`` override a steady, qualifying 10 km run."""
    values: dict[str, Any] = {"qualifies": True, "distance_m": 10000.0, "moving_s": 3000.0, "fade_pct": 1.0,
                              "decoupling_pct": 1.0, "steady": True, "baseline_median": None, "baseline_mad": None}
    values |= metrics
    aid = add_activity(engine, athlete_id, day, hour, values["distance_m"])
    with engine.begin() as conn:
        conn.execute(insert(activity_metrics).values(
            activity_id=aid, athlete_id=athlete_id, revision=1, local_date=day, load=60.0, load_method="trimp",
            computed_ts=time.time(), **values))
    return aid


def add_source(engine: Engine, athlete_id: int, name: str, status: str = "ok", last_new: datetime | None = None,
               enabled: bool = True, last_error: str | None = None) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(sources).values(
            athlete_id=athlete_id, name=name, kind="folder", config_json="{}", enabled=enabled, status=status,
            last_new_ts=None if last_new is None else last_new.timestamp(), last_success_ts=(NOW - timedelta(days=10)).timestamp(),
            last_error=last_error, created_ts=(NOW - timedelta(days=400)).timestamp(),
        )).inserted_primary_key[0])


def with_channels(settings: Settings, *channels: dict[str, Any], **alerts: Any) -> Settings:
    over: dict[str, Any] = {"alerts.channels": list(channels)}
    over |= {f"alerts.{k}": v for k, v in alerts.items()}
    return settings.with_overrides(over)


def only_rule(settings: Settings, *keep: str) -> Settings:
    """Disable every rule but ``keep``, so a test sees only what it builds."""
    names = ["load_spike", "late_fade", "recurring_fade", "decoupling", "monotony", "no_rest", "comeback", "source_stalled"]
    return settings.with_overrides({f"alerts.rules.{n}.enabled": n in keep for n in names})


