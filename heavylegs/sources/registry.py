"""The one place that knows which source kinds exist.

Kinds are imported when first used, so a command that touches only folders
never imports the HTTP clients.
"""
from __future__ import annotations

from importlib import import_module

from heavylegs.sources.base import Source, SourceError

# kind -> "module:Class"; a new connector is one module plus one line here.
KINDS: dict[str, str] = {
    "folder": "heavylegs.sources.folder:FolderSource",
    "strava": "heavylegs.strava.source:StravaSource",
    "garmin": "heavylegs.sources.garmin:GarminSource",
    "polar": "heavylegs.sources.polar:PolarSource",
    "intervals": "heavylegs.sources.intervals:IntervalsSource",
}

# Names the service creates by itself; a user's source must not take them.
RESERVED_NAMES = {"inbox": "the service's own drop folder (heavylegs run --inbox)"}


def get_kind(kind: str) -> Source:
    target = KINDS.get(kind)
    if target is None:
        raise SourceError(f"unknown source kind: {kind}")
    module, _, cls = target.partition(":")
    kind_class: type[Source] = getattr(import_module(module), cls)
    return kind_class()


def check_name(name: str) -> None:
    """Refuse a reserved name at connect time, with the reason and what to do."""
    if name.strip().lower() in RESERVED_NAMES:
        raise SourceError(f"the source name {name!r} is reserved for {RESERVED_NAMES[name.strip().lower()]}; "
                          "choose another --name")
