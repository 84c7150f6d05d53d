"""FIT sport/sub_sport -> heavylegs sport names, and cadence units per sport."""
from __future__ import annotations

from typing import Any

# Sports whose FIT cadence counts one leg (strides/min): doubled to steps/min.
STRIDE_SPORTS = frozenset({"running", "trail_running", "treadmill_running", "walking", "hiking"})

_DIRECT = {
    "running": "running",
    "cycling": "cycling",
    "e_biking": "cycling",
    "swimming": "swimming",
    "walking": "walking",
    "hiking": "hiking",
    "rowing": "rowing",
    "multisport": "multisport",
    "transition": "transition",
}

# Sub-sports that say more than the sport does (fitness_equipment, training, generic...).
_BY_SUB_SPORT = {
    "treadmill": "treadmill_running",
    "indoor_running": "treadmill_running",
    "trail": "trail_running",
    "indoor_rowing": "rowing",
    "strength_training": "strength_training",
    "indoor_cycling": "cycling",
    "spin": "cycling",
    "indoor_walking": "walking",
    "lap_swimming": "swimming",
    "open_water": "swimming",
}


def _name(value: Any) -> str | None:
    """FIT enum names come as strings; unknown enum values stay ints (useless here)."""
    return value.lower() if isinstance(value, str) else None


def map_sport(sport: Any, sub_sport: Any) -> tuple[str, str | None]:
    """(heavylegs sport, FIT sub_sport name) for one session or sport message."""
    fit_sport = _name(sport)
    sub = _name(sub_sport)
    if sub == "generic":
        sub_out: str | None = None
    else:
        sub_out = sub
    if fit_sport == "running":
        if sub in ("treadmill", "indoor_running", "virtual_activity"):
            return "treadmill_running", sub_out
        if sub == "trail":
            return "trail_running", sub_out
        return "running", sub_out
    if fit_sport in _DIRECT:
        return _DIRECT[fit_sport], sub_out
    if sub in _BY_SUB_SPORT and fit_sport in (None, "generic", "training", "fitness_equipment"):
        return _BY_SUB_SPORT[sub], sub_out
    return "other", sub_out


def sport_of(message: dict[str, Any] | None) -> tuple[str, str | None] | None:
    """The sport a session/lap/sport message declares, None if it declares none."""
    if not message or ("sport" not in message and "sub_sport" not in message):
        return None
    return map_sport(message.get("sport"), message.get("sub_sport"))


def cadence_factor(sport: str) -> float:
    """Multiplier from FIT cadence to the ``cadence_spm`` stream (see module doc)."""
    return 2.0 if sport in STRIDE_SPORTS else 1.0
