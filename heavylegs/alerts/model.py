"""What an alert is, how its id is made, and the error channels raise."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, get_args

SCHEMA = "heavylegs.alert.v1"
Severity = Literal["info", "caution", "warning", "urgent"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # mildest first: escalation compares positions
# An alert row's ``state``: queued for delivery, stored without delivery (older history, or an
# earlier step of an episode first seen together with a later one), or a channel test.
AlertState = Literal["queued", "suppressed", "superseded", "test"]
# A delivery row's ``status``; pending and retrying are still open.
DeliveryStatus = Literal["pending", "retrying", "delivered", "failed"]
OPEN_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "retrying")
# An ``alert_attempts`` row's ``status``: one send and how it ended.
AttemptStatus = Literal["delivered", "error", "permanent_error"]
ID_HEX = 32


def alert_id(athlete: str, rule: str, episode_key: str) -> str:
    """Deterministic, so analysing the same history twice yields the same ids."""
    raw = f"{athlete}\x1f{rule}\x1f{episode_key}".encode()
    return hashlib.sha256(raw).hexdigest()[:ID_HEX]


class TransportError(Exception):
    """A failed delivery; ``permanent`` stops the retries for that delivery."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass
class Finding:
    """One rule match, before it becomes an alert: the episode key decides its identity."""

    rule: str
    severity: Severity
    episode_key: str
    date: dt.date | None
    metrics: dict[str, Any]
    message: str
    advice: list[str]
    activity_id: int | None = None
    # The last day the condition held: an episode still going on is recent
    # even when it started before alerts.max_age_days.
    last_date: dt.date | None = None

    @property
    def recency_date(self) -> dt.date | None:
        return self.last_date or self.date


@dataclass
class Alert:
    id: str
    rule: str
    severity: Severity
    athlete: str
    date: dt.date | None
    activity_id: int | None
    metrics: dict[str, Any]
    message: str
    advice: list[str]
    created_at: datetime
    # Recent daily rows for the e-mail chart; never serialised.
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def is_test(self) -> bool:
        return self.rule == "test"

    @property
    def title(self) -> str:
        what = self.rule.replace("_", " ")
        when = f" on {self.date.isoformat()}" if self.date else ""
        prefix = "[heavylegs TEST]" if self.is_test else "[heavylegs]"
        if self.rule == "digest":
            return f"{prefix} Daily digest for {self.athlete}{when}"
        return f"{prefix} {self.severity.capitalize()}: {what} for {self.athlete}{when}"

    def payload(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "id": self.id,
            "rule": self.rule,
            "severity": self.severity,
            "athlete": self.athlete,
            "date": self.date.isoformat() if self.date else None,
            "activity_id": self.activity_id,
            "metrics": self.metrics,
            "message": self.message,
            "advice": list(self.advice),
            "created_at": self.created_at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    def text(self) -> str:
        lines = [self.title, "", self.message, ""]
        if self.advice:
            lines.append("What to do:")
            lines.extend(f"  - {a}" for a in self.advice)
            lines.append("")
        shown = {k: v for k, v in self.metrics.items() if k != "method"}
        if shown:
            lines.append("Numbers: " + ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items()))
        if "method" in self.metrics:
            lines.append(f"Method: {self.metrics['method']}")
        lines.append(f"Alert id: {self.id}")
        return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
