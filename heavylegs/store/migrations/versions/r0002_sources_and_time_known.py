"""After 0.1.0: activities.time_known, and the tables of the Garmin, Polar and intervals.icu sources.

Stores made during this release's development already have some of this (the
interim ``schema_version`` 2 added ``time_known``; ``create_all`` added the
tables at every start), so each step looks first and does only what is missing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # store.tables.IdType: rowid keys on SQLite
DOUBLE = sa.Float(precision=53)


def _has_table(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _remote_listing(table: str, key: sa.Column, kind: sa.Column) -> None:
    """garmin_activities and remote_activities: one row per activity a service listed."""
    op.create_table(
        table,
        sa.Column("source_id", ID, nullable=False),
        key,
        sa.Column("athlete_id", ID, nullable=False),
        sa.Column("activity_id", ID, nullable=True),
        sa.Column("start_ts", DOUBLE, nullable=True),
        kind,
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("listed_ts", DOUBLE, nullable=False),
        sa.Column("fetched_ts", DOUBLE, nullable=True),
        _fk(table, "activity_id", "activities", "SET NULL"),
        _fk(table, "athlete_id", "athletes", "CASCADE"),
        _fk(table, "source_id", "sources", "CASCADE"),
        sa.PrimaryKeyConstraint("source_id", key.name, name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_activity_id"), table, ["activity_id"], unique=False)
    op.create_index(f"ix_{table}_state", table, ["source_id", "state"], unique=False)


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("activities")}
    if "time_known" not in have:
        # Every activity stored so far had a real date: the default true is right for all of them.
        # A plain ADD COLUMN (SQLite allows NOT NULL with a default): batch mode would copy the table.
        op.add_column("activities", sa.Column("time_known", sa.Boolean(), server_default=sa.true(), nullable=False))
    if not _has_table("source_credentials"):
        op.create_table(
            "source_credentials",
            sa.Column("source_id", ID, nullable=False),
            sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
            sa.Column("token_enc", sa.LargeBinary(), nullable=True),
            sa.Column("token_expires_at", DOUBLE, nullable=True),
            sa.Column("token_issued_at", DOUBLE, nullable=True),
            sa.Column("last_request_ts", DOUBLE, nullable=True),
            sa.Column("updated_ts", DOUBLE, nullable=False),
            _fk("source_credentials", "source_id", "sources", "CASCADE"),
            sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_credentials")),
        )
    if not _has_table("garmin_activities"):
        _remote_listing(
            "garmin_activities",
            sa.Column("garmin_id", ID, autoincrement=False, nullable=False),
            sa.Column("type_key", sa.String(length=64), nullable=False),
        )
    if not _has_table("source_backfills"):
        op.create_table(
            "source_backfills",
            sa.Column("source_id", ID, nullable=False),
            sa.Column("range_key", sa.String(length=64), nullable=False),
            sa.Column("window_start", sa.String(length=10), nullable=True),
            sa.Column("next_start", sa.Integer(), nullable=False),
            sa.Column("listed_all", sa.Boolean(), nullable=False),
            sa.Column("updated_ts", DOUBLE, nullable=False),
            _fk("source_backfills", "source_id", "sources", "CASCADE"),
            sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_backfills")),
        )
    if not _has_table("remote_activities"):
        _remote_listing(
            "remote_activities",
            sa.Column("remote_id", sa.String(length=128), nullable=False),
            sa.Column("sport", sa.String(length=64), nullable=False),
        )
    if not _has_table("polar_webhooks"):
        op.create_table(
            "polar_webhooks",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("path_sha256", sa.String(length=64), nullable=False),
            sa.Column("webhook_id", sa.String(length=128), nullable=True),
            sa.Column("url", sa.Text(), nullable=False),
            sa.Column("signature_key_enc", sa.LargeBinary(), nullable=True),
            sa.Column("created_ts", DOUBLE, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_polar_webhooks")),
            sa.UniqueConstraint("path_sha256", name=op.f("uq_polar_webhooks_path_sha256")),
        )


def downgrade() -> None:
    for table in ("polar_webhooks", "remote_activities", "source_backfills", "garmin_activities", "source_credentials"):
        op.drop_table(table)
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_column("time_known")
