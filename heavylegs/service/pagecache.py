"""The rendered report page per athlete, kept until that athlete's data changes.

Rendering costs about 0.4 s of CPU (three matplotlib charts), so ``GET /``
renders only when the data version moved. The version is a few indexed
aggregates that change with everything the page shows: an activity added,
changed or deleted (count, max id, max updated_ts), run metrics recomputed
(max computed_ts), the daily series recomputed (analysis_state), and the
athlete's local date. One render at a time: a burst of requests for a stale
page renders it once, and cannot take every core.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select

from heavylegs.metrics.tables import activity_metrics
from heavylegs.store.db import read
from heavylegs.store.tables import activities, analysis_state

Render = Callable[[int, date], str]


def data_version(engine: Engine, athlete_id: int) -> tuple[Any, ...]:
    with read(engine) as conn:
        acts = conn.execute(
            select(func.count(), func.max(activities.c.id), func.max(activities.c.updated_ts)).where(activities.c.athlete_id == athlete_id)
        ).one()
        metrics = conn.execute(select(func.count(), func.max(activity_metrics.c.computed_ts)).where(activity_metrics.c.athlete_id == athlete_id)).one()
        state = conn.execute(
            select(analysis_state.c.computed_ts, analysis_state.c.last_day, analysis_state.c.settings_hash).where(analysis_state.c.athlete_id == athlete_id)
        ).first()
        conn.rollback()
    return tuple(acts) + tuple(metrics) + (tuple(state) if state is not None else ())


class ReportCache:
    """``page(athlete_id, today)``: the cached HTML, rendered again only when ``data_version`` changed.

    ``renders`` counts real renders (for tests and /metrics-style checks).
    """

    def __init__(self, engine: Engine, render: Render) -> None:
        self.engine = engine
        self._render = render
        self._pages: dict[int, tuple[tuple[Any, ...], str]] = {}
        self._lock = threading.Lock()
        self.renders = 0

    def page(self, athlete_id: int, today: date) -> str:
        with self._lock:
            key = (today,) + data_version(self.engine, athlete_id)
            hit = self._pages.get(athlete_id)
            if hit is not None and hit[0] == key:
                return hit[1]
            text = self._render(athlete_id, today)
            self.renders += 1
            self._pages[athlete_id] = (key, text)
            return text
