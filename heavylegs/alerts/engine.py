"""``check``: evaluate every rule for every athlete and queue new alerts in the outbox.

Events whose date lies within ``alerts.max_age_days`` of ``now`` are queued
for delivery; older ones (a backfilled history) are stored as suppressed and
rolled into at most one "history summary" alert per athlete per check.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone

from sqlalchemy import Connection, Engine, select, update

from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.delivery import AlertsContext
from heavylegs.alerts.model import Finding, alert_id
from heavylegs.alerts.outbox import existing_ids, store_alert
from heavylegs.alerts.rules_registry import StoreView, athlete_findings, store_findings
from heavylegs.alerts.tables import alerts
from heavylegs.alerts.transports.registry import build_channels
from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.store.tables import activities, athletes, sources


@dataclass
class CheckSummary:
    athletes: int = 0
    findings: int = 0
    queued: int = 0
    suppressed: int = 0
    summaries: int = 0
    known: int = 0  # findings whose alert already existed

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _load(conn: Connection, athlete_id: int, today: date) -> tuple[list[dict], list[dict], list[date]]:
    days = [dict(r._mapping) for r in conn.execute(
        select(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.date <= today).order_by(daily_metrics.c.date))]
    runs = [dict(r._mapping) for r in conn.execute(
        select(activity_metrics, activities.c.start_ts)
        .join(activities, activities.c.id == activity_metrics.c.activity_id)
        .where(activity_metrics.c.athlete_id == athlete_id, activity_metrics.c.qualifies.is_(True), activity_metrics.c.local_date <= today)
        .order_by(activities.c.start_ts))]
    active = {r[0] for r in conn.execute(select(activities.c.local_date).where(
        activities.c.athlete_id == athlete_id, activities.c.parent_id.is_(None), activities.c.local_date <= today,
        activities.c.time_known.is_not(False)))}  # no real date, no day (issue 14)
    active |= {d["date"] for d in days if (d["load"] or 0) > 0}
    return days, runs, sorted(active)


def _summary_finding(old: list[tuple[str, Finding]], today: date) -> Finding:
    by_rule = Counter(f.rule for _, f in old)
    dates = sorted(f.date for _, f in old if f.date is not None)
    span = f" between {dates[0].isoformat()} and {dates[-1].isoformat()}" if dates else ""
    parts = ", ".join(f"{n} {rule.replace('_', ' ')}" for rule, n in sorted(by_rule.items()))
    msg = (
        f"{len(old)} alerts from older history{span} were recorded but not sent one by one ({parts}). "
        f"They are listed by `heavylegs alerts`; only events from the last few days are sent individually."
    )
    digest = hashlib.sha256("\n".join(sorted(i for i, _ in old)).encode()).hexdigest()[:16]
    metrics = {"suppressed": len(old), "by_rule": dict(sorted(by_rule.items())), "first": dates[0].isoformat() if dates else None,
               "last": dates[-1].isoformat() if dates else None, "method": "events older than alerts.max_age_days"}
    return Finding("history_summary", "info", digest, today, metrics, msg, advice_for("history_summary"))


def queue_findings(conn: Connection, athlete_id: int | None, athlete: str, found: list[Finding], channels: list[str],
                   now: datetime, max_age_days: int, summary: CheckSummary, today: date | None = None) -> None:
    """Store new findings: recent ones for delivery, older ones suppressed behind one summary."""
    today = today or now.astimezone(timezone.utc).date()
    ided = [(alert_id(athlete, f.rule, f.episode_key), f) for f in found]
    known = existing_ids(conn, [i for i, _ in ided])
    new: list[tuple[str, Finding]] = []
    for ident, f in ided:
        if ident in known:
            summary.known += 1
            continue
        known.add(ident)  # two findings with the same key in one run count once
        new.append((ident, f))
    recent = [(i, f) for i, f in new if f.recency_date is None or (today - f.recency_date).days <= max_age_days]
    # An episode seen for the first time together with its escalation or reminder: send only
    # the latest of them, store the others without delivery.
    latest = {(f.rule, f.episode_key.split("#")[0]): i for i, f in recent}
    recent_ids = {i for i, _ in recent}
    old: list[tuple[str, Finding]] = []
    for ident, f in new:
        if f.last_date is not None and f.date is not None and f.last_date > f.date:
            # First seen after the fact (a backfill, or the service was off): say it lasted.
            f.message += f" This has been the case from {f.date.isoformat()} to {f.last_date.isoformat()}."
        if ident not in recent_ids:
            if store_alert(conn, athlete_id, athlete, f, "suppressed", channels, now, ident):
                old.append((ident, f))
                summary.suppressed += 1
        elif latest[(f.rule, f.episode_key.split("#")[0])] != ident:
            store_alert(conn, athlete_id, athlete, f, "superseded", channels, now, ident)
        elif store_alert(conn, athlete_id, athlete, f, "queued", channels, now, ident):
            summary.queued += 1
    if old:
        sf = _summary_finding(old, today)
        sid = store_alert(conn, athlete_id, athlete, sf, "queued", channels, now)
        if sid is not None:
            summary.summaries += 1
            conn.execute(update(alerts).where(alerts.c.id.in_([i for i, _ in old])).values(summary_id=sid))


def check(engine: Engine, ctx: AlertsContext, now: datetime) -> CheckSummary:
    """Evaluate every enabled rule for every athlete and queue what is new."""
    channels = [c.name for c in build_channels(ctx.channel_env)]
    max_age = ctx.alerts.max_age_days
    summary = CheckSummary()
    with engine.connect() as conn:
        people = [(int(r.id), r.name) for r in conn.execute(select(athletes.c.id, athletes.c.name).order_by(athletes.c.id))]
        srcs = [dict(r._mapping) for r in conn.execute(select(sources))]
    for athlete_id, name in people:
        today = ctx.athletes.today(name, now)  # daily rows and run dates are local dates
        with engine.connect() as conn:
            days, runs, active = _load(conn, athlete_id, today)
        found = list(athlete_findings(ctx.alerts, days, runs, active))
        summary.athletes += 1
        summary.findings += len(found)
        with engine.begin() as conn:
            queue_findings(conn, athlete_id, name, found, channels, now, max_age, summary, today)
    if srcs:
        names = dict(people)
        with engine.connect() as conn:
            starts: dict[int, list[float]] = {}
            for aid, ts in conn.execute(select(activities.c.athlete_id, activities.c.start_ts).where(activities.c.parent_id.is_(None))):
                starts.setdefault(int(aid), []).append(float(ts))
        view = StoreView(srcs, starts, now, ctx.alerts.reminder_days)
        for aid, f in store_findings(ctx.alerts.rules, view):
            summary.findings += 1
            with engine.begin() as conn:
                queue_findings(conn, aid, names.get(aid, str(aid)), [f], channels, now, max_age, summary)
    return summary
