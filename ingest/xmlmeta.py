"""Sport names and device guesses from the free text of GPX and TCX files.

GPX ``<trk><type>`` is free text (Garmin: "running", Strava: a numeric
activity type), TCX ``Sport`` is Running/Biking/Other, and the device lives in
a creator string ("StravaGPX", "Forerunner 15 ", "Polar M400"). All of this is
best effort: an unknown value gives sport "other" and no device.
"""
from __future__ import annotations

import re

# Strava's GPX export writes its numeric activity type code in <type>.
_STRAVA_TYPE_CODES: dict[str, str] = {
    "1": "cycling",  # Ride
    "4": "hiking",
    "9": "running",
    "10": "walking",
    "16": "swimming",
    "17": "cycling",  # VirtualRide
    "18": "cycling",  # EBikeRide
    "22": "rowing",
    "33": "running",  # VirtualRun
}

_SPORT_WORDS: dict[str, str] = {
    "running": "running", "run": "running", "jogging": "running", "street_running": "running",
    "trail_running": "trail_running", "trail_run": "trail_running", "trailrun": "trail_running",
    "treadmill_running": "treadmill_running", "treadmill": "treadmill_running",
    "cycling": "cycling", "biking": "cycling", "ride": "cycling", "bike": "cycling",
    "road_biking": "cycling", "mountain_biking": "cycling", "virtual_ride": "cycling",
    "virtualride": "cycling", "indoor_cycling": "cycling",
    "walking": "walking", "walk": "walking",
    "hiking": "hiking", "hike": "hiking",
    "swimming": "swimming", "swim": "swimming",
    "lap_swimming": "swimming", "open_water_swimming": "swimming",
    "rowing": "rowing",
}

_TCX_SPORTS: dict[str, str] = {"running": "running", "biking": "cycling", "other": "other"}


def sport_from_text(text: str | None) -> str:
    """GPX ``<type>`` (or any free sport text) -> our lower-case sport name."""
    if not text:
        return "other"
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    if key in _STRAVA_TYPE_CODES:
        return _STRAVA_TYPE_CODES[key]
    return _SPORT_WORDS.get(key, "other")


def sport_from_tcx(value: str | None) -> str:
    """TCX ``Activity/@Sport`` (Running, Biking, Other)."""
    if not value:
        return "other"
    return _TCX_SPORTS.get(value.strip().lower(), sport_from_text(value))


# (pattern on the lower-cased creator, manufacturer, whether the text names a product)
_GARMIN_PRODUCTS = r"\b(forerunner|fenix|f\u0113nix|edge|etrex|oregon|gpsmap|dakota|vivoactive|v\u00edvoactive|venu|instinct|epix|enduro|montana|approach)"
_MAKERS: tuple[tuple[str, str, bool], ...] = (
    (r"^stravagpx|^strava\b", "strava", False),
    (r"^garmin connect|^connect api", "garmin", False),
    (r"^garmin\b", "garmin", True),
    (_GARMIN_PRODUCTS, "garmin", True),
    (r"^movescount|^suunto\b", "suunto", False),
    (r"^polar\b", "polar", True),
    (r"^coros\b", "coros", True),
    (r"^wahoo\b", "wahoo", True),
    (r"^runkeeper\b", "runkeeper", False),
)
# Words that follow a maker's name but say nothing about the model.
_NOT_PRODUCTS = {"", "wearables", "connect", "flow", "app", "gpx"}


def device_from_creator(creator: str | None) -> tuple[str | None, str | None]:
    """(manufacturer, product) from a GPX ``creator`` or TCX ``Creator/Name``.

    "Forerunner 15 " -> ("garmin", "forerunner 15"); "Polar M400" -> ("polar", "m400");
    "Forerunner305 (Unit ID 3815748186)" -> ("garmin", "forerunner305").
    """
    if not creator:
        return None, None
    text = re.sub(r"\s*\(.*?\)\s*", " ", creator).strip().lower()
    text = re.sub(r"\s+", " ", text.split(" - ")[0]).strip()
    for pattern, maker, names_product in _MAKERS:
        match = re.search(pattern, text)
        if match is None:
            continue
        if not names_product:
            return maker, None
        product = text[match.end():] if match.start() == 0 and text.startswith(maker) else text
        product = product.strip()
        return maker, (None if product in _NOT_PRODUCTS else product)
    return None, None
