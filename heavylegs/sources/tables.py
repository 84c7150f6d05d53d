"""Tables of the HTTP sources (on heavylegs.store.tables.metadata; ``migrate`` creates them).

``source_credentials`` holds what a source needs to authenticate, encrypted
(Fernet, ``sources.crypto``): the long-lived secret (Garmin's personal API key)
and the cached short-lived token, so that every process reuses one token until
it is about to expire. ``garmin_activities`` is the natural-key record of every
Garmin activity listed, so a rerun never downloads one twice, and
``source_backfills`` is where a backfill's listing stands.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from heavylegs.store.tables import IdType, metadata

Double = Float(precision=53)

source_credentials = Table(
    "source_credentials",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_enc", LargeBinary, nullable=False),
    Column("token_enc", LargeBinary, nullable=True),
    Column("token_expires_at", Double, nullable=True),
    Column("token_issued_at", Double, nullable=True),
    Column("last_request_ts", Double, nullable=True),  # pacing carries over from one process to the next
    Column("updated_ts", Double, nullable=False),
)

garmin_activities = Table(
    "garmin_activities",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("garmin_id", IdType, primary_key=True, autoincrement=False),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("activity_id", ForeignKey("activities.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("start_ts", Double, nullable=True),
    Column("type_key", String(64), nullable=False, default=""),
    # listed: to download; linked: matched a stored activity (no download); stored: downloaded and imported;
    # skipped: an activity type we do not download; failed: download or import failed (retried); gone: deleted on Garmin.
    Column("state", String(12), nullable=False),
    Column("summary_json", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("listed_ts", Double, nullable=False),
    Column("fetched_ts", Double, nullable=True),
    Index("ix_garmin_activities_state", "source_id", "state"),
)

source_backfills = Table(
    "source_backfills",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("range_key", String(64), nullable=False),  # "since..until" of the backfill in progress
    Column("window_start", String(10), nullable=True),  # YYYY-MM-DD of the window being listed
    Column("next_start", Integer, nullable=False, default=0),  # list offset inside that window
    Column("listed_all", Boolean, nullable=False, default=False),
    Column("updated_ts", Double, nullable=False),
)

# Polar and intervals.icu (issue 12): the same record as garmin_activities, keyed by
# the service's own string id (Polar's hashed ids, intervals.icu's "i123..."); the kind
# is the source's. States as above, plus "strava": an intervals.icu activity that came
# from Strava and is not served through its API (counted, never an error).
remote_activities = Table(
    "remote_activities",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("remote_id", String(128), primary_key=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("activity_id", ForeignKey("activities.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("start_ts", Double, nullable=True),
    Column("sport", String(64), nullable=False, default=""),
    Column("state", String(12), nullable=False),
    Column("summary_json", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("listed_ts", Double, nullable=False),
    Column("fetched_ts", Double, nullable=True),
    Index("ix_remote_activities_state", "source_id", "state"),
)

# Polar webhooks belong to the API client, not to a user: one row per webhook created
# with `heavylegs polar subscribe`. The URL's secret path is kept as a SHA-256 (it only
# has to be recognised); the signing key Polar returns once is kept Fernet-encrypted.
polar_webhooks = Table(
    "polar_webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path_sha256", String(64), nullable=False, unique=True),
    Column("webhook_id", String(128), nullable=True),
    Column("url", Text, nullable=False),
    Column("signature_key_enc", LargeBinary, nullable=True),
    Column("created_ts", Double, nullable=False),
)
