"""``check``: evaluate every rule for every athlete and queue new alerts in the outbox.

Events whose date lies within ``alerts.max_age_days`` of ``now`` are queued
for delivery; older ones (a backfilled history) are stored as suppressed and
rolled into at most one "history summary" alert per athlete per check.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, select, update

from heavylegs.alerts import rules, rules_runs
from heavylegs.alerts.advice import advice_for
from heavylegs.alerts.channels import build_channels
from heavylegs.alerts.model import Finding, alert_id
from heavylegs.alerts.outbox import existing_ids, store_alert
from heavylegs.alerts.rules_source import source_stalled
from heavylegs.alerts.tables import alerts
from heavylegs.metrics.tables import activity_metrics, daily_metrics
from heavylegs.settings import ConfigError, Settings
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


def _rule_cfg(settings: Settings, rule: str) -> dict[str, Any] | None:
    cfg = settings.section(f"alerts.rules.{rule}")
    return cfg if cfg.get("enabled", True) else None


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


def _findings(settings: Settings, days: list[dict], runs: list[dict], active: list[date]) -> Iterator[Finding]:
    remind = int(settings.get("alerts.reminder_days", 0) or 0)
    # After a break the comeback rule owns the days (even when it is switched off, a ratio over a
    # near-zero reference says nothing), and monotony leaves a no-rest streak to no_rest.
    comeback_cfg = settings.section("alerts.rules.comeback")
    after_break = rules.comeback_windows(active, comeback_cfg)
    busy: set[date] = set()  # days of an open load_spike episode
    if (cfg := _rule_cfg(settings, "load_spike")) is not None:
        for f in rules.load_spike(days, cfg, remind, after_break):
            if f.date is not None and f.last_date is not None:
                busy |= {f.date + timedelta(days=i) for i in range((f.last_date - f.date).days + 1)}
            yield f
    no_rest_cfg = _rule_cfg(settings, "no_rest")
    if (cfg := _rule_cfg(settings, "monotony")) is not None:
        streaks = rules.streak_days(days, int(no_rest_cfg["run_streak"])) if no_rest_cfg is not None else set()
        yield from rules.monotony(days, cfg, remind, streaks | busy)
    if no_rest_cfg is not None:
        yield from rules.no_rest(days, no_rest_cfg, remind)
    if (cfg := _rule_cfg(settings, "comeback")) is not None:
        yield from rules.comeback(days, active, cfg)
    if (cfg := _rule_cfg(settings, "late_fade")) is not None:
        yield from rules_runs.late_fade(runs, cfg)
    if (cfg := _rule_cfg(settings, "recurring_fade")) is not None:
        yield from rules_runs.recurring_fade(runs, cfg)
    if (cfg := _rule_cfg(settings, "decoupling")) is not None:
        yield from rules_runs.decoupling(runs, cfg)


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


def local_today(settings: Settings, athlete: str, now: datetime) -> date:
    """The athlete's calendar day at ``now``: daily rows and run dates are local dates."""
    try:
        return now.astimezone(settings.athlete_zone(athlete)).date()
    except ConfigError:
        return now.astimezone(timezone.utc).date()


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


def check(engine: Engine, settings: Settings, now: datetime) -> CheckSummary:
    """Evaluate every enabled rule for every athlete and queue what is new."""
    channels = [c.name for c in build_channels(settings)]
    max_age = int(settings.get("alerts.max_age_days", 3))
    summary = CheckSummary()
    with engine.connect() as conn:
        people = [(int(r.id), r.name) for r in conn.execute(select(athletes.c.id, athletes.c.name).order_by(athletes.c.id))]
        srcs = [dict(r._mapping) for r in conn.execute(select(sources))]
    for athlete_id, name in people:
        today = local_today(settings, name, now)
        with engine.connect() as conn:
            days, runs, active = _load(conn, athlete_id, today)
        found = list(_findings(settings, days, runs, active))
        summary.athletes += 1
        summary.findings += len(found)
        with engine.begin() as conn:
            queue_findings(conn, athlete_id, name, found, channels, now, max_age, summary, today)
    cfg = _rule_cfg(settings, "source_stalled")
    if cfg is not None and srcs:
        names = dict(people)
        with engine.connect() as conn:
            starts: dict[int, list[float]] = {}
            for aid, ts in conn.execute(select(activities.c.athlete_id, activities.c.start_ts).where(activities.c.parent_id.is_(None))):
                starts.setdefault(int(aid), []).append(float(ts))
        remind = int(settings.get("alerts.reminder_days", 0) or 0)
        for aid, f in source_stalled(srcs, starts, cfg, now, remind):
            summary.findings += 1
            with engine.begin() as conn:
                queue_findings(conn, aid, names.get(aid, str(aid)), [f], channels, now, max_age, summary)
    return summary
