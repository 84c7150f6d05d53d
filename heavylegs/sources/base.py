"""The interface every source kind implements, and what its calls return."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import Engine, Row

from heavylegs.settings_schema import GarminSection, StravaSection
from heavylegs.settings_schema_sources import IntervalsSection, PolarSection
from heavylegs.settings_views import Secrets, StoreKey

if TYPE_CHECKING:  # the importer (and its decoders) load only when a kind imports a file
    from heavylegs.importer import ImportEnv

Status = Literal["ok", "error", "needs_reauth"]
BackfillStatus = Literal["done", "paused", "planned"]
Echo = Callable[[str], None]


class SourceError(Exception):
    """A user-facing problem with a source (unknown name, bad path, bad key, ...)."""


class NeedsReauth(SourceError):
    """The account refused our credentials: the user has to connect the source again."""


class NotSupported(SourceError):
    """The kind has no such operation (a folder has no history to backfill)."""


def never_stop() -> threading.Event:
    """A stop signal nobody sets: one-off commands run to the end (or Ctrl-C)."""
    return threading.Event()


@dataclass
class SyncResult:
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    status: Status = "ok"
    error: str | None = None
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackfillOptions:
    since: date | None = None
    until: date | None = None
    dry_run: bool = False
    wait: bool = True  # False: on a rate limit, save the position and return status "paused"


@dataclass
class BackfillReport:
    listed: int = 0
    already_present: int = 0
    fetched: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    status: BackfillStatus = "done"
    resume_at: float | None = None
    plan: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class SourceEnv:
    """What a source kind reads, handed to every call in place of the whole settings.

    The wiring (CLI, service) builds it once from the settings; a kind reads its own
    section (``env.garmin``...), ``secrets`` for client secrets in those sections,
    ``store_key`` for the credentials it stores, and ``imports`` for the files it fetches.
    """

    imports: ImportEnv
    secrets: Secrets
    store_key: StoreKey
    folder_settle_s: float  # service.folder_settle_s
    strava: StravaSection
    garmin: GarminSection
    polar: PolarSection
    intervals: IntervalsSection


Progress = Callable[[int, int, float], None]  # done, total, eta seconds
Waiting = Callable[[float], None]  # resume_at


class Source(Protocol):
    """One kind of source. ``source`` is its row in the ``sources`` table."""

    kind: str

    def connect(self, engine: Engine, env: SourceEnv, name: str, athlete: str, echo: Echo, **options: Any) -> str:
        """Create (or reconnect) the source named ``name``; returns the message for the user."""
        ...

    def sync(self, engine: Engine, env: SourceEnv, source: Row[Any], now: datetime, *, stop: threading.Event | None = None) -> SyncResult:
        """Fetch what is new; stop between units of work once ``stop`` is set."""
        ...

    def backfill(self, engine: Engine, env: SourceEnv, source: Row[Any], options: BackfillOptions, *,
                 stop: threading.Event | None = None, on_progress: Progress | None = None, on_wait: Waiting | None = None) -> BackfillReport:
        ...

    def on_disconnect(self, engine: Engine, env: SourceEnv, source: Row[Any], purge: bool) -> None:
        """Undo what lives outside our tables (revoke access, forget credentials) before the rows go."""
        ...

    def status(self, engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
        """Extra fields for ``heavylegs sources --json`` (e.g. ``key_expires``)."""
        ...
