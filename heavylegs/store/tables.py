"""Core tables: athletes, original files, activities and where they came from, sources.

Also the one shared ``metadata`` (and the ``IdType`` key column type) that every
other area's table module (alerts, metrics, sources, strava) defines its tables on.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

# BIGINT autoincrement keys on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Double = Float(precision=53)

# How heavylegs 0.1.0 marked its schema, before Alembic (alembic_version, store/migrations).
# Kept, not written any more: a store without alembic_version but with this table is a 0.1.0
# store, and 0.1.0 itself still opens an upgraded store.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_ts", Double, nullable=False),
)

athletes = Table(
    "athletes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("created_ts", Double, nullable=False),
)

# Original bytes, content-addressed by the sha256 of the *decompressed* file,
# so that every derived row can be rebuilt (heavylegs rebuild).
raw_files = Table(
    "raw_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("format", String(8), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("data_z", LargeBinary, nullable=False),  # zlib-compressed bytes
    Column("created_ts", Double, nullable=False),
)

activities = Table(
    "activities",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", ForeignKey("activities.id", ondelete="CASCADE"), nullable=True),
    Column("leg_index", Integer, nullable=True),
    Column("start_ts", Double, nullable=False),  # unix seconds, UTC
    Column("utc_offset_s", Integer, nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("tz_source", String(16), nullable=True),
    Column("local_date", Date, nullable=False),
    Column("sport", String(32), nullable=False),
    Column("sub_sport", String(32), nullable=True),
    Column("name", String(255), nullable=True),
    Column("manufacturer", String(64), nullable=True),
    Column("product", String(64), nullable=True),
    Column("format", String(8), nullable=False),
    Column("elapsed_s", Double, nullable=False),
    Column("timer_s", Double, nullable=True),
    Column("moving_s", Double, nullable=True),
    Column("distance_m", Double, nullable=True),
    Column("avg_hr_bpm", Double, nullable=True),
    Column("max_hr_bpm", Double, nullable=True),
    Column("has_gps", Boolean, nullable=False, default=False),
    Column("n_samples", Integer, nullable=False, default=0),
    Column("primary_sha256", String(64), nullable=True),
    Column("strava_id", IdType, nullable=True, unique=True),
    Column("streams_z", LargeBinary, nullable=True),
    Column("laps_json", Text, nullable=False, default="[]"),
    # False: the file gives no real date (device clock never set); left out of the analysis
    # until the user sets the start (heavylegs set-start). Added by revision 0002.
    Column("time_known", Boolean, nullable=False, default=True, server_default=true()),
    Column("revision", Integer, nullable=False, default=1),
    Column("created_ts", Double, nullable=False),
    Column("updated_ts", Double, nullable=False),
    Index("ix_activities_athlete_start", "athlete_id", "start_ts"),
)

activity_sources = Table(
    "activity_sources",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "file" | "strava"
    Column("ref", Text, nullable=False),  # path (archive.zip!inner) or strava id
    Column("sha256", String(64), nullable=False, default=""),
    Column("format", String(8), nullable=True),
    Column("source_id", IdType, nullable=True),
    Column("imported_ts", Double, nullable=False),
    UniqueConstraint("activity_id", "kind", "ref", "sha256"),
    Index("ix_activity_sources_sha", "sha256"),
)

# Files that produced no activity, so a re-import can skip them without decoding.
file_outcomes = Table(
    "file_outcomes",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # "skipped" | "failed"
    Column("reason", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("ts", Double, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(120), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # "folder" | "strava"
    Column("config_json", Text, nullable=False, default="{}"),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("status", String(16), nullable=False, default="ok"),
    Column("last_run_ts", Double, nullable=True),
    Column("last_success_ts", Double, nullable=True),
    Column("last_new_ts", Double, nullable=True),  # last time it delivered an activity
    Column("last_error", Text, nullable=True),
    Column("cursor", Text, nullable=True),
    Column("created_ts", Double, nullable=False),
)

# What a folder scan has seen, so an unchanged file costs one stat().
source_files = Table(
    "source_files",
    metadata,
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("size_bytes", Integer, nullable=False),
    Column("mtime_ns", IdType, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("ts", Double, nullable=False),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(120), primary_key=True),
    Column("last_start_ts", Double, nullable=True),
    Column("last_end_ts", Double, nullable=True),
    Column("last_outcome", String(16), nullable=True),  # "ok" | "error"
    Column("last_error", Text, nullable=True),
    Column("last_summary", Text, nullable=True),
    Column("runs", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
)


# Per athlete: whether anything changed since the last recompute, and the heart-rate anchors
# that were used (the CLI says which values were used). A store table, though the analysis owns
# its meaning: the store sets `dirty` on every insert, change and delete (activities.mark_dirty),
# metrics/recompute.py reads and clears it.
analysis_state = Table(
    "analysis_state",
    metadata,
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("dirty", Boolean, nullable=False, default=True),
    Column("settings_hash", String(64), nullable=True),
    Column("hr_rest_bpm", Double, nullable=True),
    Column("hr_rest_source", String(16), nullable=True),  # "config" | "default"
    Column("hr_max_bpm", Double, nullable=True),
    Column("hr_max_source", String(16), nullable=True),  # "config" | "p99.5-365d" | "default"
    Column("load_model_json", Text, nullable=True),
    Column("computed_ts", Double, nullable=True),
    Column("last_day", Date, nullable=True),
)
