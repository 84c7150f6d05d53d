"""Why a file did not become an activity.

Decoders raise these with a short human reason; the importer reports the
path with the reason and carries on with the batch.
"""
from __future__ import annotations


class IngestError(Exception):
    """Base class: ``reason`` is what the user sees next to the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecodeError(IngestError):
    """Corrupt, truncated or unreadable: the file is reported as failed."""


class HostileInput(IngestError):
    """Refused on purpose (zip bomb, zip-slip, XML entities, size limit)."""


class NotAnActivity(IngestError):
    """A valid file that holds no activity (settings, course, workout...): skipped."""
