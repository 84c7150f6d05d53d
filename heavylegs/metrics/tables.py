"""Analysis results, recomputed from activities whenever they or the settings change."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Integer, LargeBinary, String, Table

from heavylegs.store.tables import metadata

Double = Float(precision=53)

# One row per activity that has been analysed (every activity gets load; the
# run_* columns only for qualifying runs, qualifies=True).
activity_metrics = Table(
    "activity_metrics",
    metadata,
    Column("activity_id", ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("revision", Integer, nullable=False),  # activities.revision this was computed from
    Column("local_date", Date, nullable=False),
    Column("load", Double, nullable=True),
    Column("load_method", String(16), nullable=False),  # "trimp" | "estimated" | "none"
    Column("qualifies", Boolean, nullable=False, default=False),  # a run the per-run metrics apply to
    Column("distance_m", Double, nullable=True),
    Column("moving_s", Double, nullable=True),
    Column("gap_speed_mps", Double, nullable=True),
    Column("fade_pct", Double, nullable=True),
    Column("decoupling_pct", Double, nullable=True),
    Column("cadence_drop_pct", Double, nullable=True),
    Column("steady", Boolean, nullable=True),
    Column("fade_vs_baseline", Double, nullable=True),
    Column("baseline_median", Double, nullable=True),
    Column("baseline_mad", Double, nullable=True),
    Column("hr_coverage", Double, nullable=True),
    # z of analysis.baseline.fade_vs_baseline (fade_vs_baseline itself is fade - median, in points)
    Column("fade_z", Double, nullable=True),
    # Heart-rate samples counted per whole bpm (uint32 x 256, zlib), so the
    # HRmax percentile needs no stream decoding on an incremental recompute.
    Column("hr_hist", LargeBinary, nullable=True),
    Column("computed_ts", Double, nullable=False),
)

daily_metrics = Table(
    "daily_metrics",
    metadata,
    Column("athlete_id", ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("load", Double, nullable=False),
    Column("acute", Double, nullable=False),
    Column("chronic", Double, nullable=False),
    Column("acwr", Double, nullable=True),
    Column("acwr_uncoupled", Double, nullable=True),
    Column("acwr_ewma", Double, nullable=True),
    Column("ctl", Double, nullable=False),
    Column("atl", Double, nullable=False),
    Column("tsb", Double, nullable=False),
    Column("monotony", Double, nullable=True),
    Column("strain", Double, nullable=True),
    Column("run_streak", Integer, nullable=False),
)
