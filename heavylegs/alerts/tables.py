"""Alert tables: the alerts themselves, the outbox (one delivery per channel) and every attempt.

An alert's id is deterministic (athlete, rule, episode), so the primary key is
what makes re-analysis idempotent. Deliveries are written in the same
transaction as their alert, before anything is sent.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from heavylegs.store.tables import IdType, metadata

Double = Float(precision=53)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=True),
    Column("athlete", String(120), nullable=False),  # the name, also for test alerts without an athlete row
    Column("rule", String(32), nullable=False),
    Column("severity", String(16), nullable=False),  # info | caution | warning | urgent
    Column("episode_key", Text, nullable=False),
    Column("date", Date, nullable=True),
    # No foreign key: a rebuild may renumber activities, the alert history stays.
    Column("activity_id", IdType, nullable=True),
    Column("metrics_json", Text, nullable=False, default="{}"),
    Column("message", Text, nullable=False),
    Column("advice_json", Text, nullable=False, default="[]"),
    Column("state", String(16), nullable=False),  # queued | suppressed | superseded | test
    Column("summary_id", String(40), nullable=True),  # the history summary a suppressed alert went into
    Column("created_ts", Double, nullable=False),
    Index("ix_alerts_athlete_date", "athlete_id", "date"),
    Index("ix_alerts_created", "created_ts"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(120), nullable=False),
    Column("status", String(16), nullable=False),  # pending | retrying | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_ts", Double, nullable=False),
    Column("claimed_at", Double, nullable=True),
    Column("claim_token", String(32), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("permanent", Boolean, nullable=False, default=False),
    Column("created_ts", Double, nullable=False),
    Column("delivered_ts", Double, nullable=True),
    UniqueConstraint("alert_id", "channel"),
    Index("ix_alert_deliveries_due", "status", "next_attempt_ts"),
)

alert_attempts = Table(
    "alert_attempts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("alert_deliveries.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(120), nullable=False),
    Column("ts", Double, nullable=False),
    Column("duration_s", Double, nullable=False),
    Column("status", String(16), nullable=False),  # delivered | error | permanent_error
    Column("error", Text, nullable=True),
    Index("ix_alert_attempts_channel_ts", "channel", "ts"),
)
