"""Analysis service: feeds stored activities to analysis/ and stores the results.

Public entry points (imported lazily, because ``metrics.tables`` is loaded
while the schema is being assembled):
``recompute_athlete``, ``recompute_dirty``, ``ensure_current``,
``RecomputeSummary`` (``metrics.recompute``); ``daily_rows``, ``run_rows``,
``state_info`` (``metrics.read``).
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {
    "recompute_athlete": "heavylegs.metrics.recompute",
    "recompute_dirty": "heavylegs.metrics.recompute",
    "ensure_current": "heavylegs.metrics.recompute",
    "RecomputeSummary": "heavylegs.metrics.recompute",
    "daily_rows": "heavylegs.metrics.read",
    "run_rows": "heavylegs.metrics.read",
    "state_info": "heavylegs.metrics.read",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
