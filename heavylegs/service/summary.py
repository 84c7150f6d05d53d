"""Turning other areas' summary objects into the counts of the one-line job log.

Import, analysis, alerts and Strava each return their own summary type; the
job log wants ``name=int`` pairs from any of them.
"""
from __future__ import annotations

import dataclasses
from typing import Any


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple, set)):
        return len(value)
    return 0


def as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "_asdict"):
        return dict(value._asdict())
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return {}


def counts(summary: Any, prefix: str) -> dict[str, int]:
    """The numeric fields of another area's summary object, for the one-line job log."""
    if isinstance(summary, (int, list, tuple)):
        return {prefix or "n": as_int(summary)}
    out: dict[str, int] = {}
    for key, value in as_dict(summary).items():
        if isinstance(value, (int, list, tuple)) and not isinstance(value, bool):
            out[f"{prefix}_{key}" if prefix else key] = as_int(value)
    return out
