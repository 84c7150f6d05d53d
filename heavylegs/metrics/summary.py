"""Plain-language sentences about the load series, shared by the CLI and the HTML report.

ACWR is described as what it is, a change in load against the athlete's
own recent weeks; never as an injury risk (its value as a predictor is
disputed: Impellizzeri et al. 2020, IJSPP 15:907).
"""
from __future__ import annotations

from typing import Any

from heavylegs.metrics.config import AnalysisConfig


def describe_change(ratio: float) -> str:
    """An acute:chronic ratio in words, as a change in load: "62% above", "12% below", "in line with"."""
    pct = round((ratio - 1.0) * 100.0)
    if pct > 0:
        return f"{pct}% above"
    if pct < 0:
        return f"{-pct}% below"
    return "in line with"


def _span(days: int) -> str:
    return f"{days // 7}-week" if days % 7 == 0 else f"{days}-day"


def load_summary(last: dict[str, Any] | None, cfg: AnalysisConfig, history_days: int) -> str:
    """One sentence about the latest day of the series (``last`` = a ``daily_rows`` dict)."""
    acute_n = cfg.daily_params.acute_days
    chronic_n = cfg.daily_params.chronic_days
    if last is None:
        return "No activities yet: import some with `heavylegs import`."
    acwr = last.get("acwr")
    if acwr is None:
        if history_days < chronic_n:
            return (
                f"Not enough history for a load ratio yet: it needs {chronic_n} days of data and you have {history_days}."
            )
        return f"No training load in the last {chronic_n} days, so there is no load ratio."
    change = describe_change(acwr)
    ewma = last.get("acwr_ewma")
    ewma_txt = f"; EWMA {ewma:.2f}" if ewma is not None else ""
    return (
        f"Your last {acute_n} days' load is {change} your {_span(chronic_n)} average "
        f"(ACWR {acwr:.2f}, rolling coupled{ewma_txt})."
    )
