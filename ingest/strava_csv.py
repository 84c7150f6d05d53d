"""Names and types from a Strava bulk export's ``activities.csv``.

The export's files often lack a name (FIT) or carry a vague type; the CSV
row that names the file fills them in.
"""
from __future__ import annotations

import csv
import io
from typing import Any

# Strava "Activity Type" -> our sport names.
STRAVA_TYPES: dict[str, str] = {
    "run": "running",
    "trail run": "trail_running",
    "trailrun": "trail_running",
    "virtual run": "treadmill_running",
    "virtualrun": "treadmill_running",
    "walk": "walking",
    "hike": "hiking",
    "ride": "cycling",
    "virtual ride": "cycling",
    "virtualride": "cycling",
    "e-bike ride": "cycling",
    "gravel ride": "cycling",
    "mountain bike ride": "cycling",
    "swim": "swimming",
    "weight training": "strength_training",
    "workout": "training",
    "rowing": "rowing",
}


def strava_sport(activity_type: str) -> str | None:
    return STRAVA_TYPES.get(activity_type.strip().lower())


def read_hints(data: bytes, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Map ``prefix + Filename`` (lower-case) to {name, sport, strava_id, strava_type}."""
    text = data.decode("utf-8-sig", errors="replace")
    hints: dict[str, dict[str, Any]] = {}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return hints
    # Strava repeats some column names (e.g. "Distance"); the first is what we want.
    index: dict[str, int] = {}
    for i, col in enumerate(header):
        index.setdefault(col.strip(), i)
    need = ("Filename", "Activity Name", "Activity Type")
    if any(n not in index for n in need):
        return hints
    for row in reader:
        if len(row) <= index["Filename"] or not row[index["Filename"]]:
            continue
        filename = row[index["Filename"]].strip()
        hint: dict[str, Any] = {
            "name": row[index["Activity Name"]].strip() or None,
            "strava_type": row[index["Activity Type"]].strip(),
            "sport": strava_sport(row[index["Activity Type"]]),
        }
        if "Activity ID" in index and row[index["Activity ID"]].strip().isdigit():
            hint["strava_id"] = int(row[index["Activity ID"]])
        hints[(prefix + filename).lower()] = hint
    return hints
