"""source_stalled: an operational alert when a connected source stops delivering.

Keys come from the source's own timestamps (last success, last new
activity), so a stall is one episode until the source recovers, with no
extra state to keep.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.model import Finding, Severity

Row = dict[str, Any]
HABIT_WINDOW_S = 28 * 86400
HABIT_PER_WEEK = 3.0
KEY_WARN_DAYS = 7  # a source whose credentials expire on a known date warns this many days before
# What to do when an account connector's credentials are refused (Garmin's own wording is below).
REAUTH_STEPS = {
    "polar": "Polar no longer accepts its access token (revoked, or expired after about a year): run "
             "`heavylegs connect polar --name {name}` again; the source keeps its activities.",
    "intervals": "intervals.icu no longer accepts its API key: copy the key from intervals.icu (Settings, Developer Settings) and run "
                 "`heavylegs connect intervals --name {name} --athlete-id ID` again; the source keeps its activities.",
}


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
        yield from _key_expiring(src, today)
        if src["status"] in ("error", "needs_reauth"):
            since = src["last_success_ts"] or src["created_ts"]
            key = f"{src['id']}:{src['status']}:{since}"
            if src["status"] == "needs_reauth" and src["kind"] == "garmin":
                msg = (f"Garmin no longer accepts the API key of the source '{src['name']}' (it expired or was revoked), so no new "
                       f"activities arrive from it. Create a new personal API key in Garmin Connect on the web and run "
                       f"`heavylegs connect garmin --name {src['name']}` again; the source keeps its activities.")
            elif src["status"] == "needs_reauth" and src["kind"] in REAUTH_STEPS:
                msg = (f"The source '{src['name']}' needs to be authorised again; no new activities arrive from it until then. "
                       + REAUTH_STEPS[src["kind"]].format(name=src["name"]))
            elif src["status"] == "needs_reauth":
                msg = f"The source '{src['name']}' needs to be authorised again; no new activities arrive from it until then."
            else:
                err = (src["last_error"] or "unknown error").splitlines()[0][:200]
                msg = f"The source '{src['name']}' is failing ({err}); new activities from it are not being imported."
            metrics = {"source": src["name"], "kind": src["kind"], "status": src["status"], "last_success": _ts_iso(src["last_success_ts"]),
                       "method": "source status"}
            sev: Severity = "caution"
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


def _key_expiring(src: Row, today: date) -> Iterator[tuple[int, Finding]]:
    """One alert when a source's key (Garmin's personal API key) expires within KEY_WARN_DAYS, keyed on the date."""
    try:
        config = json.loads(src.get("config_json") or "{}")
        polar = src.get("kind") == "polar"  # Polar's access token lasts about a year, with no refresh token
        expires = date.fromisoformat(str(config.get("token_expires" if polar else "key_expires") or "")[:10])
    except (ValueError, TypeError, AttributeError):
        return
    days_left = (expires - today).days
    if days_left > KEY_WARN_DAYS or src["status"] == "needs_reauth":
        return
    when = "today" if days_left == 0 else (f"in {days_left} days" if days_left > 0 else f"{-days_left} days ago")
    msg = (f"The API key of the source '{src['name']}' expires {when} ({expires.isoformat()}). Create a new key in Garmin Connect "
           f"on the web and run `heavylegs connect garmin --name {src['name']}` with it; the source keeps its activities.")
    if polar:
        msg = (f"Polar's access token of the source '{src['name']}' expires {when} ({expires.isoformat()}). Run "
               f"`heavylegs connect polar --name {src['name']}` to authorise heavylegs again; the source keeps its activities.")
    metrics = {"source": src["name"], "kind": src["kind"], "key_expires": expires.isoformat(), "days_left": days_left,
               "method": f"key expiry date given at connect, warned {KEY_WARN_DAYS} days before"}
    yield int(src["athlete_id"]), Finding("source_stalled", "info", f"{src['id']}:key_expires:{expires.isoformat()}", today, metrics, msg,
                                          advice_for("source_stalled"))
