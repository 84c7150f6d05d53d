"""Rebuild derived rows from the original bytes kept in ``raw_files``.

Activity ids, names and source links stay; summaries, laps and streams are
decoded again with the current decoders (useful after an upgrade).
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, delete, select, update

from heavylegs.settings import Settings
from heavylegs.store.activities import MatchRules, _insert, SourceRef, is_same_run, load_raw, mark_dirty, summary_values
from heavylegs.store.tables import activities, raw_files
from ingest.decode import decode_safely


def rebuild_all(engine: Engine, settings: Settings) -> dict[str, Any]:
    rules = MatchRules.from_settings(settings.section("dedup"))
    default_tz = str(settings.get("import.default_timezone", "UTC"))
    with engine.connect() as conn:
        shas = [r[0] for r in conn.execute(select(raw_files.c.sha256))]
    rebuilt, failed = 0, []
    for sha in shas:
        with engine.begin() as conn:
            data = load_raw(conn, sha)
            owners = conn.execute(select(activities).where(activities.c.primary_sha256 == sha, activities.c.parent_id.is_(None))).all()
            if data is None or not owners:
                continue
            status, payload = decode_safely(data, None, {}, default_tz)
            if status != "ok":
                failed.append({"sha256": sha, "reason": payload})
                continue
            for row in owners:
                for act in payload:
                    values = summary_values(act)
                    if not is_same_run(values | {"format": row.format}, row._mapping, rules):
                        continue
                    values.pop("name")  # a user- or export-given name outlives the decoder
                    if act.timezone is None and row.timezone:
                        values.pop("timezone")
                    conn.execute(
                        update(activities).where(activities.c.id == row.id).values(**values, revision=row.revision + 1, updated_ts=time.time())
                    )
                    conn.execute(delete(activities).where(activities.c.parent_id == row.id))
                    for i, leg in enumerate(act.legs):
                        _insert(conn, row.athlete_id, leg, SourceRef("file", f"rebuild:{sha}", sha, row.format), row.id, i)
                    mark_dirty(conn, row.athlete_id)
                    rebuilt += 1
                    break
    return {"files": len(shas), "rebuilt": rebuilt, "failed": failed}
