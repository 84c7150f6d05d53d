"""What ``heavylegs strava status`` shows."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, select

from heavylegs.settings import Settings
from heavylegs.store.tables import athletes, sources
from heavylegs.strava.tables import strava_activities, strava_subscription, strava_tokens


def overview(engine: Engine, settings: Settings) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(sources, athletes.c.name.label("athlete"), strava_tokens.c.expires_at, strava_tokens.c.scope)
            .join(athletes, athletes.c.id == sources.c.athlete_id)
            .outerjoin(strava_tokens, strava_tokens.c.source_id == sources.c.id)
            .where(sources.c.kind == "strava")
        ).all()
        counts: dict[int, int] = dict(conn.execute(select(strava_activities.c.source_id, func.count()).where(strava_activities.c.state.in_(("stored", "linked")))
                                   .group_by(strava_activities.c.source_id)).all())
        sub = conn.execute(select(strava_subscription)).first()
    out: dict[str, Any] = {"sources": [], "subscription": None}
    for r in rows:
        expires = None if r.expires_at is None else datetime.fromtimestamp(r.expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        out["sources"].append({"name": r.name, "athlete": r.athlete, "status": r.status, "enabled": bool(r.enabled), "last_error": r.last_error,
                               "token_expires": expires, "scope": r.scope, "activities": int(counts.get(r.id, 0))})
    if sub is not None:
        out["subscription"] = {"subscription_id": sub.subscription_id, "callback_url": sub.callback_url}
    return out
