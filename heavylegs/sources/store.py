"""The ``sources`` rows: add, look up, record a sync's outcome, remove (with purge)."""
from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select, update

from heavylegs.sources.base import SourceEnv, SourceError, SyncResult
from heavylegs.sources.registry import check_name, get_kind
from heavylegs.store.activities import delete_activity, get_or_create_athlete
from heavylegs.store.tables import activity_sources, athletes, source_files, sources


def source_config(source: Row[Any]) -> dict[str, Any]:
    try:
        value = json.loads(source.config_json or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def add_source(engine: Engine, name: str, kind: str, athlete: str, config: dict[str, Any], *, reserved_ok: bool = False,
               cursor: str | None = None) -> int:
    """Register a source; a name already in use, or reserved for the service, is an error."""
    if not reserved_ok:
        check_name(name)
    with engine.begin() as conn:
        if conn.execute(select(sources.c.id).where(sources.c.name == name)).first() is not None:
            raise SourceError(f"a source named {name!r} already exists (choose another --name)")
        athlete_id = get_or_create_athlete(conn, athlete)
        row = conn.execute(
            insert(sources).values(
                athlete_id=athlete_id, name=name, kind=kind, config_json=json.dumps(config, sort_keys=True),
                enabled=True, status="ok", cursor=cursor, created_ts=time.time(),
            )
        )
        return int(row.inserted_primary_key[0])  # type: ignore[index]  # a single-row insert always has one


def set_config(engine: Engine, source_id: int, config: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(config_json=json.dumps(config, sort_keys=True)))


def get_source(engine: Engine, name: str) -> Row[Any] | None:
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.name == name)).first()


def get_source_by_id(engine: Engine, source_id: int) -> Row[Any] | None:
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.id == source_id)).first()


def list_sources(engine: Engine, enabled_only: bool = False) -> list[Row[Any]]:
    query = select(sources, athletes.c.name.label("athlete")).join(athletes, athletes.c.id == sources.c.athlete_id)
    if enabled_only:
        query = query.where(sources.c.enabled.is_(True))
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(sources.c.name)))


def athlete_of(engine: Engine, source: Row[Any]) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(athletes.c.name).where(athletes.c.id == source.athlete_id)).scalar_one())


def activity_counts(engine: Engine) -> dict[int, int]:
    """Activities each source has delivered (new or as a duplicate copy)."""
    query = (
        select(activity_sources.c.source_id, func.count(func.distinct(activity_sources.c.activity_id)))
        .where(activity_sources.c.source_id.is_not(None))
        .group_by(activity_sources.c.source_id)
    )
    with engine.connect() as conn:
        return {int(sid): int(n) for sid, n in conn.execute(query)}


def record_result(engine: Engine, source_id: int, result: SyncResult, now_ts: float) -> None:
    """Store a sync outcome on the source row (the job runner's job, not the kind's)."""
    values: dict[str, Any] = {"status": result.status, "last_run_ts": now_ts}
    if result.status == "ok":
        values["last_success_ts"] = now_ts
        values["last_error"] = None
    else:
        values["last_error"] = (result.error or result.status)[:2000]
    if result.new > 0:
        values["last_new_ts"] = now_ts
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


def mark_status(engine: Engine, source_id: int, status: str, message: str | None) -> None:
    """Set a source's health outside a sync (a backfill or connect learned the key is gone)."""
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(status=status, last_error=None if message is None else message[:2000]))


def purge_candidates(engine: Engine, source_id: int) -> list[int]:
    """Activities that only this source brought in (no other source or file import delivered a copy)."""
    with engine.connect() as conn:
        mine = {int(r[0]) for r in conn.execute(select(activity_sources.c.activity_id).where(activity_sources.c.source_id == source_id))}
        if not mine:
            return []
        others = {
            int(r[0])
            for r in conn.execute(
                select(activity_sources.c.activity_id).where(
                    activity_sources.c.activity_id.in_(mine),
                    (activity_sources.c.source_id.is_(None)) | (activity_sources.c.source_id != source_id),
                )
            )
        }
    return sorted(mine - others)


def remove_source(engine: Engine, env: SourceEnv, name: str, purge: bool = False) -> dict[str, Any]:
    """Disconnect a source: the kind's hook first (Strava deauthorizes, Garmin forgets the key), then the rows."""
    source = get_source(engine, name)
    if source is None:
        raise SourceError(f"no source named {name!r}")
    try:
        kind = get_kind(source.kind)
    except SourceError:
        kind = None  # a kind that is no longer installed can still be removed
    if kind is not None:
        kind.on_disconnect(engine, env, source, purge)
    doomed = purge_candidates(engine, int(source.id)) if purge else []
    with engine.begin() as conn:
        for activity_id in doomed:
            delete_activity(conn, activity_id)
        # Ids can be reused by SQLite, so links must not keep pointing at this one.
        conn.execute(update(activity_sources).where(activity_sources.c.source_id == source.id).values(source_id=None))
        conn.execute(delete(source_files).where(source_files.c.source_id == source.id))
        conn.execute(delete(sources).where(sources.c.id == source.id))
    return {"name": name, "kind": source.kind, "purged_activities": len(doomed)}


def extra_status(engine: Engine, env: SourceEnv, source: Row[Any]) -> dict[str, Any]:
    """The kind's own fields for ``sources --json`` (Garmin: ``key_expires`` when known)."""
    try:
        return get_kind(source.kind).status(engine, env, source)
    except SourceError:
        return {}
