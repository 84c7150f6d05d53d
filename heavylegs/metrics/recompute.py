"""Recompute an athlete's analysis: per-activity metrics where needed, then the daily series.

Order of work, and why:
1. Claim: clear ``analysis_state.dirty`` first, so an import that lands while
   we compute sets it again and is picked up by the next pass.
2. Decide full or incremental: full when the settings hash or the HR anchors
   changed; otherwise only activities whose ``revision`` differs from the
   one their metrics were computed from (or that have none yet).
3. Per-activity metrics from the streams, in small read batches (on SQLite
   every transaction holds the write lock, so no long reads).
4. Load model, estimated loads and fade baselines from the stored values.
5. One transaction writes the changed metric rows, the whole daily series
   and the state.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, Engine, insert, select, text, update

from heavylegs.metrics.anchors import Anchors, decode_hist, derive_hr_max, resolve_anchors
from heavylegs.metrics.config import AnalysisConfig, AnalysisEnv, analysis_config, streams_part
from heavylegs.metrics.daily import build_daily, write_daily
from heavylegs.metrics.derived import Entry, apply_baselines, apply_estimates, fit_model, model_to_json
from heavylegs.metrics.parallel import analyse_all
from heavylegs.metrics.read import StateInfo, state_info
from heavylegs.metrics.store import load_entries, stored_hist, stored_hists, stream_hist, write_metrics
from heavylegs.store.tables import analysis_state, athletes

ALL = (-math.inf, 0)


@dataclass
class RecomputeSummary:
    athlete_id: int
    athlete: str
    today: date
    full: bool
    reason: str  # "settings" | "anchors" | "changes" | "day"
    activities: int  # activities of the athlete
    recomputed: int  # activities analysed from their streams
    updated: int  # metric rows written (recomputed + estimate/baseline changes)
    days: int  # daily rows written
    hr_max_bpm: float
    hr_max_source: str
    hr_rest_bpm: float
    hr_rest_source: str
    elapsed_s: float


def lock_athlete(conn: Connection, athlete_id: int) -> None:
    """Serialise writers of one athlete's results on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7243002, :a)"), {"a": int(athlete_id) % 2**31})


def needs_recompute(state: StateInfo | None, cfg: AnalysisConfig, today: date) -> bool:
    if state is None:
        return False  # nothing was ever imported for this athlete
    return state.dirty or state.settings_hash != cfg.settings_hash or state.last_day is None or state.last_day < today


def _claim(conn: Connection, athlete_id: int) -> StateInfo | None:
    lock_athlete(conn, athlete_id)
    state = state_info(conn, athlete_id)
    if state is None:
        conn.execute(insert(analysis_state).values(athlete_id=athlete_id, dirty=False))
    else:
        conn.execute(update(analysis_state).where(analysis_state.c.athlete_id == athlete_id).values(dirty=False))
    return state


def _previous_anchors(state: StateInfo | None) -> Anchors | None:
    if state is None or state.hr_max_bpm is None or state.hr_rest_bpm is None:
        return None
    return Anchors(state.hr_rest_bpm, state.hr_rest_source or "", state.hr_max_bpm, state.hr_max_source or "")


def _athlete_name(engine: Engine, athlete_id: int) -> str:
    with engine.connect() as conn:
        name = conn.execute(select(athletes.c.name).where(athletes.c.id == athlete_id)).scalar()
        conn.rollback()
    if name is None:
        raise KeyError(f"no athlete with id {athlete_id}")
    return str(name)


def recompute_athlete(engine: Engine, env: AnalysisEnv, athlete_id: int, today: date) -> RecomputeSummary:
    """Bring the athlete's ``activity_metrics``, ``daily_metrics`` and ``analysis_state`` up to date."""
    t0 = time.perf_counter()
    name = _athlete_name(engine, athlete_id)
    cfg = analysis_config(env, name)
    with engine.begin() as conn:
        state = _claim(conn, athlete_id)
        entries = load_entries(conn, athlete_id)
    try:
        return _recompute(engine, cfg, athlete_id, name, today, state, entries, t0)
    except BaseException:
        with engine.begin() as conn:
            conn.execute(update(analysis_state).where(analysis_state.c.athlete_id == athlete_id).values(dirty=True))
        raise


def _recompute(
    engine: Engine,
    cfg: AnalysisConfig,
    athlete_id: int,
    name: str,
    today: date,
    state: StateInfo | None,
    entries: list[Entry],
    t0: float,
) -> RecomputeSummary:
    stale = {e.info.id for e in entries if not e.m or e.m.get("revision") != e.info.revision}
    by_id = {e.info.id: e for e in entries}
    previous = _previous_anchors(state)

    window_from = today - timedelta(days=cfg.hr_max_window_days)
    prefetched: dict[int, bytes | None] = {}
    if cfg.hr_max_bpm is None:
        with engine.connect() as conn:
            prefetched = stored_hists(conn, athlete_id, window_from)
            conn.rollback()

    def hist_of(act_id: int) -> np.ndarray | None:
        # Fresh from the streams for a changed activity, else the stored histogram.
        if act_id in stale:
            return stream_hist(engine, act_id)
        blob = prefetched[act_id] if act_id in prefetched else stored_hist(engine, act_id)
        return decode_hist(blob)

    days_ids = [(e.info.local_date, e.info.id) for e in entries if not e.info.is_multisport_parent]
    anchors = resolve_anchors(
        cfg, lambda: derive_hr_max(days_ids, hist_of, today, cfg.hr_max_window_days, cfg.hr_max_percentile), previous
    )
    reason = "changes" if stale else "day"
    full = series_only = False
    if state is None or streams_part(state.settings_hash) != streams_part(cfg.settings_hash):
        full, reason = True, "settings"
    elif previous is None or (previous.hr_max_bpm, previous.hr_rest_bpm) != (anchors.hr_max_bpm, anchors.hr_rest_bpm):
        full, reason = True, "anchors"
    elif state.settings_hash != cfg.settings_hash:
        series_only, reason = True, "series settings"
    todo = [e for e in entries if full or e.info.id in stale]
    analyse_all(engine, todo, cfg, anchors)  # a process pool over chunks when the batch is big (parallel.py)
    written = {e.info.id for e in todo}
    derive_all = full or series_only or (state is not None and state.dirty and not todo)
    model_json = state.load_model_json if state is not None else None
    if todo or derive_all:
        model = fit_model(entries, cfg)
        model_json = model_to_json(model)
        written |= apply_estimates(entries, model)
        start = ALL if derive_all else min(e.order for e in todo)
        written |= apply_baselines(entries, cfg, start)
    first, series = build_daily(entries, cfg, today)
    with engine.begin() as conn:
        lock_athlete(conn, athlete_id)
        analysed = {e.info.id for e in todo}
        write_metrics(conn, athlete_id, todo, [by_id[i] for i in written - analysed])
        days = write_daily(conn, athlete_id, first, series)
        conn.execute(
            update(analysis_state)
            .where(analysis_state.c.athlete_id == athlete_id)
            .values(
                settings_hash=cfg.settings_hash,
                hr_rest_bpm=anchors.hr_rest_bpm,
                hr_rest_source=anchors.hr_rest_source,
                hr_max_bpm=anchors.hr_max_bpm,
                hr_max_source=anchors.hr_max_source,
                load_model_json=model_json,
                computed_ts=time.time(),
                last_day=today,
            )
        )
    return RecomputeSummary(
        athlete_id=athlete_id,
        athlete=name,
        today=today,
        full=full,
        reason=reason,
        activities=len(entries),
        recomputed=len(todo),
        updated=len(written),
        days=days,
        hr_max_bpm=anchors.hr_max_bpm,
        hr_max_source=anchors.hr_max_source,
        hr_rest_bpm=anchors.hr_rest_bpm,
        hr_rest_source=anchors.hr_rest_source,
        elapsed_s=time.perf_counter() - t0,
    )


def ensure_current(engine: Engine, env: AnalysisEnv, athlete_id: int, today: date) -> RecomputeSummary | None:
    """Recompute when anything changed (dirty, settings, a new day); None when already current."""
    name = _athlete_name(engine, athlete_id)
    cfg = analysis_config(env, name)
    with engine.connect() as conn:
        state = state_info(conn, athlete_id)
        conn.rollback()
    if not needs_recompute(state, cfg, today):
        return None
    return recompute_athlete(engine, env, athlete_id, today)


def recompute_dirty(
    engine: Engine, env: AnalysisEnv, today_for: Callable[[str], date] | None = None
) -> list[RecomputeSummary]:
    """Recompute every athlete that is dirty, has new settings or has not been computed for today.

    ``today_for(name)`` gives the athlete's local date (default: now in the
    athlete's configured time zone).
    """
    today_of = today_for or env.athletes.today
    with engine.connect() as conn:
        people = [(int(r.id), str(r.name)) for r in conn.execute(select(athletes.c.id, athletes.c.name).order_by(athletes.c.id))]
        states = {aid: state_info(conn, aid) for aid, _ in people}
        conn.rollback()
    done = []
    for aid, name in people:
        today = today_of(name)
        if needs_recompute(states[aid], analysis_config(env, name), today):
            done.append(recompute_athlete(engine, env, aid, today))
    return done
