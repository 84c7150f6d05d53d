"""Compatibility: the sources API moved to ``heavylegs.sources`` (one package, one module per kind).

Existing imports keep working; new code imports ``heavylegs.sources.store``
and ``heavylegs.sources.registry`` directly. There is no module-global stop
signal any more: the service passes its own ``threading.Event`` to each sync.
"""
from __future__ import annotations

from heavylegs.sources.base import Source as SourceKind
from heavylegs.sources.base import SourceError, SyncResult
from heavylegs.sources.registry import get_kind
from heavylegs.sources.store import (
    activity_counts,
    add_source,
    get_source,
    get_source_by_id,
    list_sources,
    purge_candidates,
    record_result,
    remove_source,
    source_config,
)

__all__ = [
    "SourceError", "SourceKind", "SyncResult", "activity_counts", "add_source", "get_kind", "get_source", "get_source_by_id",
    "list_sources", "purge_candidates", "record_result", "remove_source", "source_config",
]
