"""Stored activities as plain dicts for the CLI, the web page and scripts."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from heavylegs.store.streams import decode_streams
from heavylegs.store.tables import activities, activity_sources


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sources(conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        rows = conn.execute(
            select(activity_sources.c.activity_id, activity_sources.c.kind, activity_sources.c.ref, activity_sources.c.sha256)
            .where(activity_sources.c.activity_id.in_(chunk))
            .order_by(activity_sources.c.id)
        )
        for act_id, kind, ref, sha in rows:
            out[int(act_id)].append({"kind": kind, "ref": ref, "sha256": sha or None})
    return out


def _row_dict(row: Any, sources: list[dict[str, Any]]) -> dict[str, Any]:
    device = " ".join(p for p in (row.manufacturer, row.product) if p) or None
    return {
        "id": int(row.id),
        "start_utc": iso_utc(row.start_ts),
        "local_date": row.local_date.isoformat(),
        "utc_offset_s": row.utc_offset_s,
        "timezone": row.timezone,
        "sport": row.sport,
        "sub_sport": row.sub_sport,
        "name": row.name,
        "device": device,
        "format": row.format,
        "elapsed_s": row.elapsed_s,
        "timer_s": row.timer_s,
        "moving_s": row.moving_s,
        "distance_m": row.distance_m,
        "avg_hr_bpm": row.avg_hr_bpm,
        "max_hr_bpm": row.max_hr_bpm,
        "has_gps": bool(row.has_gps),
        # False: the file gave no real date; left out of the analysis until `heavylegs set-start`.
        "time_known": bool(row.time_known),
        "parent_id": row.parent_id,
        "strava_id": row.strava_id,
        "sources": sources,
    }


def list_activities(
    conn: Connection, athlete_id: int, since: date | None = None, until: date | None = None, sport: str | None = None
) -> list[dict[str, Any]]:
    cols = [c for c in activities.c if c.name not in ("streams_z", "laps_json")]
    q = select(*cols).where(activities.c.athlete_id == athlete_id)
    if since:
        q = q.where(activities.c.local_date >= since)
    if until:
        q = q.where(activities.c.local_date <= until)
    if sport:
        q = q.where(activities.c.sport == sport)
    rows = conn.execute(q.order_by(activities.c.start_ts, activities.c.id)).all()
    srcs = _sources(conn, [int(r.id) for r in rows])
    return [_row_dict(r, srcs[int(r.id)]) for r in rows]


def stream_summary(blob: bytes | None) -> dict[str, Any]:
    streams = decode_streams(blob)
    out: dict[str, Any] = {"samples": len(streams)}
    for name, arr in streams.present().items():
        ok = arr[np.isfinite(arr)]
        out[name] = {
            "valid": int(ok.size),
            "min": float(ok.min()) if ok.size else None,
            "max": float(ok.max()) if ok.size else None,
            "mean": float(ok.mean()) if ok.size else None,
        }
    return out


def show_activity(conn: Connection, activity_id: int, athlete_id: int | None = None) -> dict[str, Any] | None:
    q = select(activities).where(activities.c.id == activity_id)
    if athlete_id is not None:
        q = q.where(activities.c.athlete_id == athlete_id)
    row = conn.execute(q).first()
    if row is None:
        return None
    out = _row_dict(row, _sources(conn, [activity_id])[activity_id])
    out["laps"] = json.loads(row.laps_json or "[]")
    out["streams"] = stream_summary(row.streams_z)
    legs = conn.execute(select(activities.c.id, activities.c.sport).where(activities.c.parent_id == activity_id).order_by(activities.c.leg_index))
    out["legs"] = [{"id": int(i), "sport": s} for i, s in legs]
    return out
