"""The daily digest: one ``info`` alert per athlete per local day, through the normal outbox.

Its id is derived from athlete, rule ``digest`` and the athlete's local date,
so a second run on the same day (a restart, the CLI after the service) adds
nothing. Being an ordinary alert it goes to every channel, is recorded, is
retried, and waits for the end of quiet hours like any non-urgent alert.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, select

from analysis.load_ratio import weekly_load_ratio
from heavylegs.alerts.delivery import AlertsContext, deliver_due
from heavylegs.alerts.model import Finding, alert_id
from heavylegs.alerts.outbox import existing_ids, store_alert
from heavylegs.alerts.quiet import digest_time
from heavylegs.alerts.rules import EWMA_METHOD, WEEKLY_METHOD, dense_loads
from heavylegs.alerts.tables import alerts
from heavylegs.alerts.transports.registry import build_channels
from heavylegs.metrics.summary import describe_change
from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.store.tables import activities, athletes

RULE = "digest"
STALE_DAYS = 28  # no daily row this recent: nothing worth a daily message
WEEK_HISTORY_DAYS = 35  # the last 7 days and the four 7-day sums before them
LAST_RUNS = 3


@dataclass
class DigestSummary:
    athletes: int = 0
    queued: int = 0
    known: int = 0  # today's digest existed already
    skipped: int = 0  # no data in the last STALE_DAYS days
    not_due: int = 0  # the athlete's local time is still before alerts.digest_time
    delivered: int = 0
    deferred: int = 0  # held back by quiet hours
    pending: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _round(value: float | None, places: int = 1) -> float | None:
    return None if value is None else round(float(value), places)


def _recent_alerts(conn: Connection, athlete_id: int, now: datetime) -> list[dict[str, Any]]:
    q = (select(alerts.c.rule, alerts.c.severity, alerts.c.date)
         .where(alerts.c.athlete_id == athlete_id, alerts.c.state == "queued", alerts.c.rule.not_in([RULE, "test"]),
                alerts.c.created_ts >= now.timestamp() - 86400)
         .order_by(alerts.c.created_ts, alerts.c.id))
    return [{"rule": r.rule, "severity": r.severity, "date": r.date.isoformat() if r.date else None} for r in conn.execute(q)]


def _last_runs(conn: Connection, athlete_id: int, today: date) -> list[dict[str, Any]]:
    q = (select(activity_metrics.c.local_date, activity_metrics.c.distance_m, activity_metrics.c.fade_pct, activity_metrics.c.baseline_median)
         .join(activities, activities.c.id == activity_metrics.c.activity_id)
         .where(activity_metrics.c.athlete_id == athlete_id, activity_metrics.c.qualifies.is_(True),
                activity_metrics.c.fade_pct.is_not(None), activity_metrics.c.local_date <= today)
         .order_by(activities.c.start_ts.desc()).limit(LAST_RUNS))
    return [{"date": r.local_date.isoformat(), "distance_km": _round((r.distance_m or 0.0) / 1000.0, 1),
             "fade_pct": _round(r.fade_pct), "usual_pct": _round(r.baseline_median)} for r in conn.execute(q)]


def _week(conn: Connection, athlete_id: int, today: date) -> dict[str, Any]:
    """The weekly load ratio of ``today`` (rules.load_spike's): last 7 days against the 4 weeks before."""
    rows = [dict(r._mapping) for r in conn.execute(select(daily_metrics.c.date, daily_metrics.c.load).where(
        daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.date <= today,
        daily_metrics.c.date > today - timedelta(days=WEEK_HISTORY_DAYS)).order_by(daily_metrics.c.date))]
    none = {"ratio": None, "load_7d": None, "weekly_avg_4w": None}
    if not rows:
        return none
    first, loads = dense_loads(rows + ([{"date": today, "load": 0.0}] if rows[-1]["date"] < today else []))
    if (today - first).days + 1 < WEEK_HISTORY_DAYS:
        return none  # the four reference weeks are not all there
    series = weekly_load_ratio(loads)
    r = series["ratio"][-1]
    if r != r:  # NaN: no load in the reference weeks
        return none
    return {"ratio": round(float(r), 2), "load_7d": round(float(series["load_7d"][-1])),
            "weekly_avg_4w": round(float(series["weekly_mean"][-1]))}


def _lines(day: dict | None, yesterday: dict | None, week: dict[str, Any], streak: int,
           runs: list[dict[str, Any]], recent: list[dict[str, Any]]) -> list[str]:
    def load(row: dict | None) -> str:
        return f"{row['load']:.0f}" if row is not None else "none recorded"

    lines = [f"Load today (so far): {load(day)}; yesterday: {load(yesterday)}."]
    if week["ratio"] is None:
        lines.append("Not enough history yet to compare your last 7 days with the 4 weeks before them.")
    else:
        # The numbers the sentence uses, and only those; described as a change in load, never as a risk.
        lines.append(f"Your load over the last 7 days was {week['load_7d']:.0f}, {describe_change(week['ratio'])} your "
                     f"average week over the 4 weeks before ({week['weekly_avg_4w']:.0f}; ratio {week['ratio']:.2f}).")
    lines.append(f"Run streak: {streak} day{'s' if streak != 1 else ''} in a row with training." if streak
                 else "No training yesterday or today so far: rest days are when legs adapt.")
    if runs:
        parts = [f"{r['date']} {r['distance_km']:.1f} km {r['fade_pct']:.1f}%" for r in runs]
        lines.append("Late fade on your last runs (pace in the last quarter vs early in the run): " + ", ".join(parts) + ".")
    if recent:
        lines.append("Alerts in the last 24 hours: " + ", ".join(f"{a['rule'].replace('_', ' ')} ({a['severity']})" for a in recent) + ".")
    else:
        lines.append("No alerts in the last 24 hours.")
    return lines


def build_digest(conn: Connection, athlete_id: int, today: date, now: datetime) -> Finding | None:
    """The digest Finding for ``today`` (the athlete's local date), or None without recent data."""
    cols = [daily_metrics.c.date, daily_metrics.c.load, daily_metrics.c.acute, daily_metrics.c.chronic,
            daily_metrics.c.acwr, daily_metrics.c.acwr_ewma, daily_metrics.c.run_streak]
    rows = [dict(r._mapping) for r in conn.execute(select(*cols).where(
        daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.date <= today).order_by(daily_metrics.c.date.desc()).limit(2))]
    if not rows or (today - rows[0]["date"]).days > STALE_DAYS:
        return None
    latest = rows[0]
    by_date = {r["date"]: r for r in rows}
    day, yesterday = by_date.get(today), by_date.get(today - timedelta(days=1))
    # Today may not be over: the streak counts up to the latest day that had training.
    streak_row = next((r for r in (day, yesterday) if r is not None and (r["load"] or 0) > 0), None)
    streak = int(streak_row["run_streak"]) if streak_row is not None else 0
    runs, recent = _last_runs(conn, athlete_id, today), _recent_alerts(conn, athlete_id, now)
    metrics = {
        "load_today": _round(day["load"]) if day else None, "load_yesterday": _round(yesterday["load"]) if yesterday else None,
        "acute": _round(latest["acute"]), "chronic": _round(latest["chronic"]),
        "acwr_ewma": _round(latest["acwr_ewma"], 3), "acwr_rolling": _round(latest["acwr"], 3), "run_streak": streak,
        "runs": runs, "alerts_24h": recent, "method": f"{EWMA_METHOD}; rolling 7/28-day averages",
    }
    week = _week(conn, athlete_id, today)
    metrics |= {"load_ratio": week["ratio"], "load_7d": week["load_7d"], "weekly_avg_4w": week["weekly_avg_4w"]}
    metrics["method"] = f"{WEEKLY_METHOD}; {EWMA_METHOD}; rolling 7/28-day averages"
    message = "\n".join(_lines(day, yesterday, week, streak, runs, recent))
    return Finding(RULE, "info", today.isoformat(), today, metrics, message, [])


def send_digest(engine: Engine, ctx: AlertsContext, now: datetime | None = None, athletes_only: list[str] | None = None,
                force: bool = False, quiet: bool = True) -> DigestSummary:
    """Queue today's digest for every athlete whose local time has reached ``alerts.digest_time``
    (``force``: whatever the time, even with no digest_time), then deliver those digests."""
    now = now or datetime.now(timezone.utc)
    summary = DigestSummary()
    at = digest_time(ctx.alerts)
    if at is None and not force:
        return summary
    channels = [c.name for c in build_channels(ctx.channel_env)]
    q = select(athletes.c.id, athletes.c.name).order_by(athletes.c.id)
    if athletes_only is not None:
        q = q.where(athletes.c.name.in_(athletes_only))
    with engine.connect() as conn:
        people = [(int(r.id), str(r.name)) for r in conn.execute(q)]
    ids: list[str] = []
    for athlete_id, name in people:
        summary.athletes += 1
        local = now.astimezone(ctx.athletes.zone(name))
        if not force and at is not None and local.time().replace(tzinfo=None) < at:
            summary.not_due += 1
            continue
        ident = alert_id(name, RULE, local.date().isoformat())
        with engine.begin() as conn:
            if existing_ids(conn, [ident]):
                summary.known += 1
                ids.append(ident)  # it may still wait for delivery
                continue
            finding = build_digest(conn, athlete_id, local.date(), now)
            if finding is None:
                summary.skipped += 1
                continue
            if store_alert(conn, athlete_id, name, finding, "queued", channels, now, ident) is not None:
                summary.queued += 1
            else:
                summary.known += 1  # a concurrent run stored it first
        ids.append(ident)
    if ids:
        sent = deliver_due(engine, ctx, now, force=force, alert_ids=ids, quiet=quiet)
        summary.delivered, summary.deferred, summary.pending = sent.delivered, sent.deferred, sent.pending
    return summary
