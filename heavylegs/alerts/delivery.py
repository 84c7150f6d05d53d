"""Sending what the outbox holds: claim, send outside any transaction, record the attempt.

Failed sends retry with exponential backoff and jitter until
``alerts.retry_max_age_h`` after the alert was queued; permanent errors stop
at once. Every attempt is a row in ``alert_attempts``. During
``alerts.quiet_hours`` deliveries of alerts that are not ``urgent`` are
deferred to the end of the window: no attempt, and the quiet time does not
count against the max age.
"""
from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Row, func, or_, select

from heavylegs.alerts.model import DeliveryStatus, Finding, TransportError
from heavylegs.alerts.outbox import OPEN, claim, daily_history, defer, record_attempt, row_to_alert, store_alert
from heavylegs.alerts.quiet import QuietHours, quiet_hours
from heavylegs.alerts.tables import alert_deliveries, alerts
from heavylegs.alerts.transports.base import ChannelEnv, Transport
from heavylegs.alerts.transports.registry import build_channels
from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema_alerts import AlertsSection
from heavylegs.settings_views import Athletes

BATCH = 200


@dataclass(frozen=True)
class AlertsContext:
    """What checking, delivering and the digest read: the channels' env (``[alerts]``, ``[smtp]``,
    secrets, data dir) and the athletes, whose time zone decides "today", quiet hours and the digest."""

    channel_env: ChannelEnv
    athletes: Athletes

    @property
    def alerts(self) -> AlertsSection:
        return self.channel_env.alerts


@dataclass
class DeliverySummary:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0  # held back by quiet hours (not an attempt)
    pending: int = 0  # still open (pending or retrying) after this run

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (1-based): doubling, capped, then jittered into [50%, 100%]
    so that many deliveries failing together do not retry in lock-step."""
    delay = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return delay * (0.5 + 0.5 * (rng or random).random())


def _candidates(engine: Engine, now_ts: float, stale_before: float, force: bool, alert_ids: list[str] | None, after_id: int) -> list[Row[Any]]:
    q = (
        select(alert_deliveries.c.id.label("delivery_id"), alert_deliveries.c.channel, alert_deliveries.c.attempts,
               alert_deliveries.c.created_ts.label("queued_ts"), alerts)
        .join(alerts, alerts.c.id == alert_deliveries.c.alert_id)
        .where(alert_deliveries.c.status.in_(OPEN), alert_deliveries.c.id > after_id)
        .where(or_(alert_deliveries.c.claimed_at.is_(None), alert_deliveries.c.claimed_at < stale_before))
    )
    if not force:
        q = q.where(alert_deliveries.c.next_attempt_ts <= now_ts)
    if alert_ids is not None:
        q = q.where(alert_deliveries.c.alert_id.in_(alert_ids))
    with engine.connect() as conn:
        return list(conn.execute(q.order_by(alert_deliveries.c.id).limit(BATCH)).all())


def _pages(engine: Engine, now_ts: float, stale_before: float, force: bool, alert_ids: list[str] | None) -> Iterator[Any]:
    """Every candidate once, oldest first, a page at a time (a failed one is not revisited in this run)."""
    after = 0
    while True:
        page = _candidates(engine, now_ts, stale_before, force, alert_ids, after)
        yield from page
        if len(page) < BATCH:
            return
        after = page[-1].delivery_id


def open_count(engine: Engine, alert_ids: list[str] | None = None) -> int:
    q = select(func.count()).select_from(alert_deliveries).where(alert_deliveries.c.status.in_(OPEN))
    if alert_ids is not None:
        q = q.where(alert_deliveries.c.alert_id.in_(alert_ids))
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def _holds(row: Any, quiet: QuietHours | None) -> bool:
    """Whether quiet hours apply to this alert: urgent alerts and channel tests always go out."""
    return quiet is not None and row.severity != "urgent" and row.rule != "test"


def deliver_due(engine: Engine, ctx: AlertsContext, now: datetime, force: bool = False,
                alert_ids: list[str] | None = None, channels: list[Transport] | None = None,
                quiet: bool = True, stop: threading.Event | None = None) -> DeliverySummary:
    """Send every due delivery (``force``: ignore backoff; ``quiet=False``: ignore quiet hours);
    returns counts incl. what is still pending. A set ``stop`` ends the run after the delivery
    in hand, so a service stop never waits for a whole outbox of slow receivers."""
    by_name = {c.name: c for c in (channels if channels is not None else build_channels(ctx.channel_env))}
    conf = ctx.alerts
    window = quiet_hours(conf) if quiet else None
    zones: dict[str, ZoneInfo] = {}
    now_ts = now.timestamp()
    stale_before = now_ts - conf.claim_timeout_s
    base, cap = conf.retry_base_s, conf.retry_max_s
    max_age_s = conf.retry_max_age_h * 3600
    summary = DeliverySummary()
    for row in _pages(engine, now_ts, stale_before, force, alert_ids):
        if stop is not None and stop.is_set():
            break
        zone: ZoneInfo | None = None
        if window is not None and _holds(row, window):
            if row.athlete not in zones:
                zones[row.athlete] = ctx.athletes.zone(row.athlete)
            zone = zones[row.athlete]
            until = window.until(now, zone)
            if until is not None:
                with engine.begin() as conn:
                    defer(conn, row.delivery_id, until.timestamp(), stale_before)
                summary.deferred += 1
                continue
        with engine.begin() as conn:
            token = claim(conn, row.delivery_id, now_ts, stale_before, None if force else now_ts)
        if token is None:
            continue  # another process has it
        channel = by_name.get(row.channel)
        error: str | None = None
        permanent = False
        started = time.monotonic()
        if channel is None:
            error, permanent = f"channel {row.channel} is no longer configured", True
        else:
            alert = row_to_alert(row)
            try:
                if channel.wants_chart:
                    with engine.connect() as conn:
                        alert.history = daily_history(conn, row.athlete_id, alert.date)
                channel.notify(alert)
            except TransportError as exc:
                error, permanent = exc.message, exc.permanent
            except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the others
                error = f"unexpected {type(exc).__name__} in channel {channel.name}"
        duration = time.monotonic() - started
        summary.attempted += 1
        attempt = row.attempts + 1
        next_ts = now_ts
        status: DeliveryStatus
        if error is None:
            status = "delivered"
            summary.delivered += 1
        elif permanent:
            status = "failed"
            summary.failed += 1
        elif _age_s(row, window, zone, now_ts) >= max_age_s:
            status = "failed"
            error += f" (giving up: undelivered {max_age_s / 3600:g} h after it was queued"
            error += ", not counting quiet hours)" if _holds(row, window) else ")"
            summary.failed += 1
        else:
            status = "retrying"
            next_ts = now_ts + backoff_s(attempt, base, cap)
            summary.retrying += 1
        with engine.begin() as conn:
            record_attempt(conn, row.delivery_id, row.channel, token, now_ts, duration, error, permanent, status, next_ts)
    summary.pending = open_count(engine, alert_ids)
    return summary


def _age_s(row: Any, window: QuietHours | None, zone: ZoneInfo | None, now_ts: float) -> float:
    # Time spent held back by quiet hours is not the channel's fault: it does not use up the max age.
    if window is not None and zone is not None and _holds(row, window):
        return window.awake_s(row.queued_ts, now_ts, zone)
    return now_ts - row.queued_ts


def open_channels(engine: Engine) -> dict[str, int]:
    q = select(alert_deliveries.c.channel, func.count()).where(alert_deliveries.c.status.in_(OPEN)).group_by(alert_deliveries.c.channel)
    with engine.connect() as conn:
        return {name: int(n) for name, n in conn.execute(q)}


def send_test(engine: Engine, ctx: AlertsContext, now: datetime, channel: str | None = None) -> tuple[str, DeliverySummary]:
    """Queue a clearly marked test alert for one channel (or all) and send it at once."""
    chans = build_channels(ctx.channel_env)
    if channel is not None:
        chans = [c for c in chans if c.name == channel]
        if not chans:
            raise ConfigError(f"no alerts channel named {channel!r}")
    finding = Finding(
        rule="test", severity="info", episode_key=secrets.token_hex(8), date=now.date(),
        metrics={"test": True}, advice=[],
        message="This is a test alert from heavylegs. If you can read it, this channel works. Nothing is wrong with your legs.",
    )
    with engine.begin() as conn:
        ident = store_alert(conn, None, ctx.athletes.default, finding, "test", [c.name for c in chans], now)
    assert ident is not None  # a fresh random key never collides
    return ident, deliver_due(engine, ctx, now, force=True, alert_ids=[ident], channels=chans, quiet=False)
