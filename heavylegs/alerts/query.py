"""Read side for the CLI and the web page: alerts with their deliveries, channel health."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, select

from heavylegs.alerts.delivery import open_channels
from heavylegs.alerts.tables import alert_attempts, alert_deliveries, alerts
from heavylegs.alerts.transports.base import ChannelEnv
from heavylegs.alerts.transports.registry import build_channels
from heavylegs.store.db import read


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def list_alerts(engine: Engine, since: date | None = None, athlete: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Newest first; each with its deliveries (channel, status, attempts, last_error)."""
    q = select(alerts)
    if since is not None:
        q = q.where(alerts.c.date >= since)
    if athlete is not None:
        q = q.where(alerts.c.athlete == athlete)
    q = q.order_by(alerts.c.created_ts.desc(), alerts.c.date.desc(), alerts.c.id).limit(limit)
    with read(engine) as conn:
        rows = conn.execute(q).all()
        ids = [r.id for r in rows]
        deliveries: dict[str, list[dict[str, Any]]] = {}
        for i in range(0, len(ids), 500):
            for d in conn.execute(select(alert_deliveries).where(alert_deliveries.c.alert_id.in_(ids[i : i + 500])).order_by(alert_deliveries.c.id)):
                deliveries.setdefault(d.alert_id, []).append(
                    {"channel": d.channel, "status": d.status, "attempts": d.attempts, "last_error": d.last_error})
    return [
        {
            "id": r.id, "rule": r.rule, "severity": r.severity, "athlete": r.athlete,
            "date": r.date.isoformat() if r.date else None, "activity_id": r.activity_id,
            "metrics": json.loads(r.metrics_json), "message": r.message, "advice": json.loads(r.advice_json),
            "state": r.state, "created_at": _iso(r.created_ts), "deliveries": deliveries.get(r.id, []),
        }
        for r in rows
    ]


def channel_status(engine: Engine, env: ChannelEnv) -> list[dict[str, Any]]:
    """Per channel: last success, the last error since then, a permanent error since then, open deliveries."""
    configured = [(c.name, c.kind) for c in build_channels(env)]
    pending = open_channels(engine)
    out = []
    with read(engine) as conn:
        seen = {r[0] for r in conn.execute(select(alert_deliveries.c.channel).distinct())}
        names = configured + [(n, "unconfigured") for n in sorted(seen - {n for n, _ in configured})]
        for name, kind in names:
            ok = conn.execute(select(func.max(alert_attempts.c.ts)).where(
                alert_attempts.c.channel == name, alert_attempts.c.status == "delivered")).scalar()
            after = [alert_attempts.c.channel == name] + ([alert_attempts.c.ts >= ok] if ok is not None else [])
            newest = (alert_attempts.c.ts.desc(), alert_attempts.c.id.desc())
            bad = conn.execute(select(alert_attempts.c.ts, alert_attempts.c.error).where(
                *after, alert_attempts.c.status != "delivered").order_by(*newest).limit(1)).first()
            perm = conn.execute(select(alert_attempts.c.error).where(
                *after, alert_attempts.c.status == "permanent_error").order_by(*newest).limit(1)).scalar()
            out.append({
                "name": name, "kind": kind, "last_success": _iso(ok),
                "last_error": None if bad is None else bad.error, "last_error_at": None if bad is None else _iso(bad.ts),
                "permanent_error": perm, "pending": pending.get(name, 0),
            })
    return out
