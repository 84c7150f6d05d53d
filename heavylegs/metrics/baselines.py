"""Personal baselines of decoupling and cadence drop, computed on read from the stored per-run values.

The fade baseline is stored with each run (``derived.apply_baselines``); these
two are cheap to derive from the stored metrics whenever they are needed (the
decoupling alert, ``run_rows(detail=True)``), so they need no columns of their
own. All use ``analysis.baseline.rolling_baselines``: median and raw MAD of the
last ``n`` earlier steady runs of similar duration (x/÷ 1.5), earlier outliers
left out, None with fewer than ``min_runs`` earlier runs.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from analysis.baseline import rolling_baselines

Row = dict[str, Any]


def steady_with(key: str, min_moving_s: float = 0.0) -> Callable[[Row], bool]:
    """Rows that count towards a baseline of ``key``: qualifying, steady, long enough, with a value."""
    def ok(row: Row) -> bool:
        return (bool(row.get("qualifies", True)) and bool(row.get("steady")) and row.get(key) is not None
                and (row.get("moving_s") or 0.0) >= min_moving_s)
    return ok


def metric_baselines(rows: Iterable[Row], key: str, *, id_key: str = "activity_id", n: int = 10, min_runs: int = 3,
                     eligible: Callable[[Row], bool] | None = None) -> dict[int, tuple[float, float]]:
    """run id -> (median, raw MAD) of ``key`` over the earlier eligible ``rows`` (oldest first).

    Every row gets a baseline from the eligible rows before it (its own value,
    when eligible, joins the pool for later rows); rows without one are absent.
    """
    pick = eligible or steady_with(key)
    rows = list(rows)
    values = [float(r[key]) if pick(r) else float("nan") for r in rows]
    durations = [float(r.get("moving_s") or float("nan")) for r in rows]
    med, mad, _ = rolling_baselines(values, durations, n=n, min_runs=min_runs)
    return {int(r[id_key]): (float(m), float(d)) for r, m, d in zip(rows, med, mad) if m == m}
