"""Optional collaborators: the service runs with whatever areas are installed.

Analysis, alerts and Strava are looked up by name at call time, so a missing
module (or an older one without a given function) degrades to a no-op
instead of stopping the service.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable


def optional(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        # Only the module itself being absent is tolerated; a broken import inside it is a bug.
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def first_of(*candidates: tuple[str, str]) -> Callable[..., Any] | None:
    for module, name in candidates:
        fn = optional(module, name)
        if fn is not None:
            return fn
    return None


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
