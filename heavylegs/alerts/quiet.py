"""Quiet hours and the clock times in ``[alerts]``, read in each athlete's own time zone.

``alerts.quiet_hours = "22:00-07:00"`` holds back every alert that is not
``urgent`` until the window ends; a window may wrap midnight or not. Time
spent inside quiet windows does not count against ``alerts.retry_max_age_h``,
so an alert held back overnight is still sent in the morning.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from heavylegs.settings_errors import ConfigError
from heavylegs.settings_schema_alerts import AlertsSection
from heavylegs.settings_schema_base import check_clock, check_window

# Beyond this many days of outbox age the quiet-hours discount is irrelevant to any sane retry_max_age_h.
_MAX_SCAN_DAYS = 400


def parse_clock(text: str, key: str) -> time:
    """``"HH:MM"`` (24-hour) as a time; a ConfigError naming ``key`` otherwise."""
    try:
        return check_clock(text)
    except ValueError as exc:
        raise ConfigError(f"{key} {exc}") from None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @property
    def wraps(self) -> bool:
        return self.start > self.end

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The window that starts on local ``day``, as aware datetimes."""
        end_day = day + timedelta(days=1) if self.wraps else day
        return datetime.combine(day, self.start, tzinfo=zone), datetime.combine(end_day, self.end, tzinfo=zone)

    def until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The end of the quiet window ``now`` falls in, or None when ``now`` is not quiet."""
        local = now.astimezone(zone)
        t = local.time().replace(tzinfo=None)
        if not self.wraps:
            return datetime.combine(local.date(), self.end, tzinfo=zone) if self.start <= t < self.end else None
        if t >= self.start:
            return datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        if t < self.end:
            return datetime.combine(local.date(), self.end, tzinfo=zone)
        return None

    def awake_s(self, start_ts: float, end_ts: float, zone: ZoneInfo) -> float:
        """Seconds between the two instants that lie outside quiet windows."""
        total = max(0.0, end_ts - start_ts)
        if total == 0.0 or total > _MAX_SCAN_DAYS * 86400:
            return total
        first = datetime.fromtimestamp(start_ts, zone).date() - timedelta(days=1)  # a wrapping window from the day before
        last = datetime.fromtimestamp(end_ts, zone).date()
        quiet = 0.0
        day = first
        while day <= last:
            w_start, w_end = self._window(day, zone)
            quiet += max(0.0, min(end_ts, w_end.timestamp()) - max(start_ts, w_start.timestamp()))
            day += timedelta(days=1)
        return max(0.0, total - quiet)


def parse_quiet(text: str | None) -> QuietHours | None:
    """``"22:00-07:00"`` as QuietHours; empty means off."""
    try:
        window = check_window(str(text or ""))
    except ValueError as exc:
        raise ConfigError(f"alerts.quiet_hours {exc}") from None
    return None if window is None else QuietHours(*window)


def quiet_hours(alerts: AlertsSection) -> QuietHours | None:
    """``alerts.quiet_hours`` as QuietHours, None when off."""
    return parse_quiet(alerts.quiet_hours)


def digest_time(alerts: AlertsSection) -> time | None:
    """``alerts.digest_time`` as a time, None when the digest is off."""
    raw = alerts.digest_time.strip()
    return parse_clock(raw, "alerts.digest_time") if raw else None
