"""Strava tables (on heavylegs.store.tables.metadata; ``migrate`` creates them).

``strava_activities`` is keyed by Strava's activity id (the natural key) and
keeps the raw summary and streams JSON, compressed, so derived rows can be
rebuilt without asking Strava again.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from heavylegs.store.tables import IdType, metadata

Double = Float(precision=53)

# One row per connected Strava source; tokens are Fernet-encrypted JSON.
strava_tokens = Table(
    "strava_tokens",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("strava_athlete_id", IdType, nullable=False, index=True),
    Column("tokens_enc", LargeBinary, nullable=False),  # {"access_token", "refresh_token"}
    Column("expires_at", Double, nullable=False),
    Column("scope", String(200), nullable=False, default=""),
    Column("updated_ts", Double, nullable=False),
)

strava_activities = Table(
    "strava_activities",
    metadata,
    Column("strava_id", IdType, primary_key=True, autoincrement=False),
    Column("source_id", ForeignKey("sources.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("activity_id", ForeignKey("activities.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("start_ts", Double, nullable=False),
    Column("sport_type", String(40), nullable=False, default=""),
    # listed: summary only, streams still to fetch; linked: matched a stored activity;
    # stored: streams fetched and stored; skipped: a sport we do not track; failed; deleted.
    Column("state", String(12), nullable=False),
    Column("summary_z", LargeBinary, nullable=False),
    Column("streams_z", LargeBinary, nullable=True),
    Column("error", Text, nullable=True),
    Column("listed_ts", Double, nullable=False),
    Column("fetched_ts", Double, nullable=True),
    Index("ix_strava_activities_state", "source_id", "state"),
)

# Where a backfill is: the range it lists and the next page to ask for.
strava_backfills = Table(
    "strava_backfills",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("after_ts", Integer, nullable=False),
    Column("before_ts", Integer, nullable=False),
    Column("next_page", Integer, nullable=False, default=1),
    Column("listed_all", Boolean, nullable=False, default=False),
    Column("updated_ts", Double, nullable=False),
)

strava_events = Table(
    "strava_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("object_type", String(16), nullable=False),
    Column("object_id", IdType, nullable=False),
    Column("aspect_type", String(16), nullable=False),
    Column("event_time", IdType, nullable=False),
    Column("updates", Text, nullable=False),  # canonical JSON, part of the dedup key
    Column("received_ts", Double, nullable=False),
    Column("processed_ts", Double, nullable=True),
    Column("outcome", Text, nullable=True),
    UniqueConstraint("object_type", "object_id", "aspect_type", "event_time", "updates", name="uq_strava_events_key"),
)

strava_subscription = Table(
    "strava_subscription",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: one subscription per application
    Column("subscription_id", IdType, nullable=True),
    Column("verify_token", String(64), nullable=False),
    Column("callback_url", Text, nullable=False),
    Column("created_ts", Double, nullable=False),
)

# Connect attempts waiting for Strava's redirect (the state parameter).
strava_oauth_pending = Table(
    "strava_oauth_pending",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("athlete", String(120), nullable=False),
    Column("source_name", String(120), nullable=False),
    Column("created_ts", Double, nullable=False),
    Column("outcome", Text, nullable=True),  # JSON once the callback came: {"ok": ..., "message": ...}
)
