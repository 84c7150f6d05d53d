"""The outbox: alerts and their deliveries are stored before anything is sent.

Inserting an alert whose id exists does nothing (ON CONFLICT DO NOTHING),
which is what makes re-analysis and concurrent checks produce no duplicates.
Claims are short UPDATEs guarded by the row's state, so two processes never
send the same delivery at once, and a claim left by a crashed process
becomes claimable again after ``alerts.claim_timeout_s`` (at-least-once).
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from heavylegs.alerts.model import OPEN_STATUSES, Alert, AlertState, AttemptStatus, DeliveryStatus, Finding, alert_id
from heavylegs.alerts.tables import alert_attempts, alert_deliveries, alerts
from heavylegs.metrics.tables import daily_metrics

OPEN = OPEN_STATUSES


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert the alert unless its id exists; True when this call inserted it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(alerts).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(alerts.c.id)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT here.
    return conn.execute(stmt).first() is not None


def store_alert(conn: Connection, athlete_id: int | None, athlete: str, finding: Finding, state: AlertState,
                channels: Iterable[str], now: datetime, ident: str | None = None) -> str | None:
    """Write one alert (and, unless suppressed, a pending delivery per channel); None when it already existed."""
    ident = ident or alert_id(athlete, finding.rule, finding.episode_key)
    now_ts = now.timestamp()
    values = {
        "id": ident, "athlete_id": athlete_id, "athlete": athlete, "rule": finding.rule, "severity": finding.severity,
        "episode_key": finding.episode_key, "date": finding.date, "activity_id": finding.activity_id,
        "metrics_json": json.dumps(finding.metrics, sort_keys=True), "message": finding.message,
        "advice_json": json.dumps(finding.advice), "state": state, "created_ts": now_ts,
    }
    if not _insert_ignore(conn, values):
        return None
    if state not in ("suppressed", "superseded"):
        for name in channels:
            conn.execute(insert(alert_deliveries).values(
                alert_id=ident, channel=name, status="pending", attempts=0, next_attempt_ts=now_ts, permanent=False, created_ts=now_ts))
    return ident


def existing_ids(conn: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        found |= {r[0] for r in conn.execute(select(alerts.c.id).where(alerts.c.id.in_(ids[i : i + 500])))}
    return found


def row_to_alert(row: Any) -> Alert:
    return Alert(
        id=row.id, rule=row.rule, severity=row.severity, athlete=row.athlete, date=row.date, activity_id=row.activity_id,
        metrics=json.loads(row.metrics_json), message=row.message, advice=json.loads(row.advice_json),
        created_at=datetime.fromtimestamp(row.created_ts, timezone.utc),
    )


def claim(conn: Connection, delivery_id: int, now_ts: float, stale_before: float, due_before: float | None) -> str | None:
    """Claim one open delivery; the token, or None when another process holds or finished it."""
    token = secrets.token_hex(16)
    cond = [
        alert_deliveries.c.id == delivery_id,
        alert_deliveries.c.status.in_(OPEN),
        or_(alert_deliveries.c.claimed_at.is_(None), alert_deliveries.c.claimed_at < stale_before),
    ]
    if due_before is not None:
        cond.append(alert_deliveries.c.next_attempt_ts <= due_before)
    done = conn.execute(update(alert_deliveries).where(and_(*cond)).values(claimed_at=now_ts, claim_token=token))
    return token if done.rowcount == 1 else None


def defer(conn: Connection, delivery_id: int, until_ts: float, stale_before: float) -> bool:
    """Hold an open delivery back until ``until_ts`` (quiet hours): no attempt, no claim needed."""
    done = conn.execute(update(alert_deliveries).where(
        alert_deliveries.c.id == delivery_id, alert_deliveries.c.status.in_(OPEN),
        or_(alert_deliveries.c.claimed_at.is_(None), alert_deliveries.c.claimed_at < stale_before),
        alert_deliveries.c.next_attempt_ts < until_ts,
    ).values(next_attempt_ts=until_ts))
    return done.rowcount == 1


def record_attempt(conn: Connection, delivery_id: int, channel: str, token: str, ts: float, duration_s: float,
                   error: str | None, permanent: bool, next_status: DeliveryStatus, next_attempt_ts: float) -> bool:
    """Store the attempt and move the delivery on; False when our claim was taken over meanwhile."""
    status: AttemptStatus = "delivered" if error is None else ("permanent_error" if permanent else "error")
    conn.execute(insert(alert_attempts).values(delivery_id=delivery_id, channel=channel, ts=ts, duration_s=duration_s, status=status, error=error))
    values: dict[str, Any] = {"status": next_status, "claimed_at": None, "claim_token": None,
                              "attempts": alert_deliveries.c.attempts + 1, "next_attempt_ts": next_attempt_ts}
    if error is None:
        values |= {"delivered_ts": ts, "last_error": None}
    else:
        values |= {"last_error": error, "permanent": permanent}
    done = conn.execute(update(alert_deliveries).where(
        and_(alert_deliveries.c.id == delivery_id, alert_deliveries.c.claim_token == token)).values(**values))
    if done.rowcount == 1:
        return True
    # Someone re-claimed a stale claim; a success still closes the delivery (the receiver dedupes by id).
    if error is None:
        conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == delivery_id).values(**values))
    return False


def daily_history(conn: Connection, athlete_id: int | None, until: date | None, days: int = 56) -> list[dict[str, Any]]:
    """The athlete's last ``days`` daily rows up to ``until``, for the e-mail chart."""
    if athlete_id is None:
        return []
    q = select(daily_metrics.c.date, daily_metrics.c.load, daily_metrics.c.acute, daily_metrics.c.chronic,
               daily_metrics.c.acwr_ewma).where(daily_metrics.c.athlete_id == athlete_id)
    if until is not None:
        q = q.where(daily_metrics.c.date <= until)
    rows = conn.execute(q.order_by(daily_metrics.c.date.desc()).limit(days)).all()
    return [dict(r._mapping) for r in reversed(rows)]
