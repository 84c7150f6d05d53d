"""source_stalled: an operational alert when a connected source stops delivering.

Keys come from the source's own timestamps (last success, last new
activity), so a stall is one episode until the source recovers, with no
extra state to keep.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.model import Finding

Row = dict[str, Any]
HABIT_WINDOW_S = 28 * 86400
HABIT_PER_WEEK = 3.0


def _ts_iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def source_stalled(sources: list[Row], starts_by_athlete: dict[int, list[float]], cfg: dict[str, Any], now: datetime,
                   reminder_days: int) -> Iterator[tuple[int, Finding]]:
    """(athlete_id, finding) per enabled source in error, needing re-authorisation, or silent for ``days``."""
    now_ts = now.timestamp()
    quiet_s = float(cfg["days"]) * 86400
    today = now.astimezone(timezone.utc).date()
    for src in sources:
        if not src["enabled"]:
            continue
        if src["status"] in ("error", "needs_reauth"):
            since = src["last_success_ts"] or src["created_ts"]
            key = f"{src['id']}:{src['status']}:{since}"
            if src["status"] == "needs_reauth":
                msg = f"The source '{src['name']}' needs to be authorised again; no new activities arrive from it until then."
            else:
                err = (src["last_error"] or "unknown error").splitlines()[0][:200]
                msg = f"The source '{src['name']}' is failing ({err}); new activities from it are not being imported."
            metrics = {"source": src["name"], "kind": src["kind"], "status": src["status"], "last_success": _ts_iso(src["last_success_ts"]),
                       "method": "source status"}
            sev = "caution"
        else:
            since = src["last_new_ts"] or src["created_ts"]
            if since is None or now_ts - since < quiet_s:
                continue
            # Silence only means something when the athlete usually trains.
            starts = starts_by_athlete.get(int(src["athlete_id"]), [])
            before = [t for t in starts if since - HABIT_WINDOW_S <= t < since]
            per_week = len(before) / 4.0
            if per_week < HABIT_PER_WEEK:
                continue
            days = (now_ts - since) / 86400
            key = f"{src['id']}:quiet:{since}"
            msg = (
                f"The source '{src['name']}' has delivered no new activity for {days:.0f} days, although you averaged "
                f"{per_week:.1f} activities a week in the 4 weeks before. Check that your watch is still syncing."
            )
            metrics = {"source": src["name"], "kind": src["kind"], "days_without_new": round(days, 1),
                       "activities_per_week_before": round(per_week, 2), "last_new": _ts_iso(since),
                       "method": f">= {cfg['days']} days without a new activity while averaging >= {HABIT_PER_WEEK:g}/week over the prior 4 weeks"}
            sev = "info"
        if reminder_days > 0 and since is not None:
            k = int((now_ts - since) // (reminder_days * 86400))
            if k >= 1:
                key += f"#r{k}"
        yield int(src["athlete_id"]), Finding("source_stalled", sev, key, today, metrics, msg, advice_for("source_stalled"))
