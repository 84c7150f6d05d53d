"""Strava's rate limits as a spendable budget.

Strava reports two limit pairs on every response: ``X-RateLimit-*`` (all
requests) and ``X-ReadRateLimit-*`` (reads), each "15-minute,daily". The
15-minute window resets at :00/:15/:30/:45 and the daily one at midnight UTC;
requests over a limit still count. The budget trusts the latest headers,
counts locally in between, and keeps a reserve of every window for the
live sync so that a long backfill never starves it.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SHORT_S = 900
DAY_S = 86_400
# Strava's documented defaults, used until the first response tells the real ones.
DEFAULT_LIMITS = {"overall": (200, 2000), "read": (100, 1000)}
HEADERS = {"overall": ("X-RateLimit-Limit", "X-RateLimit-Usage"), "read": ("X-ReadRateLimit-Limit", "X-ReadRateLimit-Usage")}


def window_start(ts: float, length_s: int) -> float:
    return math.floor(ts / length_s) * length_s


def next_reset(ts: float, length_s: int) -> float:
    return window_start(ts, length_s) + length_s


class BudgetExhausted(Exception):
    """No request may be spent before ``resume_at`` (unix seconds)."""

    def __init__(self, resume_at: float, window: str) -> None:
        super().__init__(f"Strava {window} rate limit reached; resume after {time.strftime('%H:%M:%S', time.gmtime(resume_at))} UTC")
        self.resume_at = resume_at
        self.window = window


@dataclass
class _Counter:
    limit: int
    usage: int = 0
    window: float = 0.0  # start of the window ``usage`` belongs to


@dataclass
class RateBudget:
    """Counts requests per window; ``reserve`` is the fraction left for live sync."""

    reserve: float = 0.10
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    counters: dict[tuple[str, int], _Counter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pair, limits in DEFAULT_LIMITS.items():
            for length, limit in zip((SHORT_S, DAY_S), limits):
                self.counters.setdefault((pair, length), _Counter(limit))

    def _current(self, key: tuple[str, int]) -> _Counter:
        counter = self.counters[key]
        start = window_start(self.clock(), key[1])
        if counter.window != start:
            counter.usage, counter.window = 0, start
        return counter

    def _keys(self, read: bool) -> list[tuple[str, int]]:
        pairs = ("overall", "read") if read else ("overall",)
        return [(p, length) for p in pairs for length in (SHORT_S, DAY_S)]

    def allowance(self, key: tuple[str, int], use_reserve: bool) -> int:
        counter = self._current(key)
        cap = counter.limit if use_reserve else math.floor(counter.limit * (1.0 - self.reserve))
        return cap - counter.usage

    def available(self, read: bool = True, use_reserve: bool = False) -> int:
        """Requests that may be made now without touching the reserve (unless ``use_reserve``)."""
        return min(self.allowance(k, use_reserve) for k in self._keys(read))

    def blocking_reset(self, read: bool = True, use_reserve: bool = False) -> tuple[float, str]:
        """When spending may resume: the latest reset among the windows that are used up."""
        now = self.clock()
        blocked = [k for k in self._keys(read) if self.allowance(k, use_reserve) <= 0]
        if not blocked:
            return now, ""
        key = max(blocked, key=lambda k: next_reset(now, k[1]))
        return next_reset(now, key[1]), "daily" if key[1] == DAY_S else "15-minute"

    def acquire(self, read: bool = True, use_reserve: bool = False) -> None:
        """Count one request, or raise BudgetExhausted when none is left."""
        if self.available(read, use_reserve) <= 0:
            raise BudgetExhausted(*self.blocking_reset(read, use_reserve))
        for key in self._keys(read):
            self._current(key).usage += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt the server's view of limits and usage (it also counts other clients)."""
        for pair, (limit_h, usage_h) in HEADERS.items():
            limits, usages = _pair(headers.get(limit_h)), _pair(headers.get(usage_h))
            for i, length in enumerate((SHORT_S, DAY_S)):
                counter = self._current((pair, length))
                if limits is not None:
                    counter.limit = limits[i]
                if usages is not None:
                    counter.usage = usages[i]

    def exhaust(self, read: bool = True) -> tuple[float, str]:
        """After a 429: treat every window that is at its limit as spent, and say when to resume."""
        for key in self._keys(read):
            counter = self._current(key)
            if counter.usage >= counter.limit:
                counter.usage = max(counter.usage, counter.limit)
        resume, window = self.blocking_reset(read, use_reserve=True)
        if not window:  # a 429 the headers do not explain: sit out the short window
            return next_reset(self.clock(), SHORT_S), "15-minute"
        return resume, window

    def seconds_for(self, requests: int, read: bool = True) -> float:
        """Roughly how long ``requests`` take at the current limits (0 when they fit now)."""
        now = self.clock()
        pairs = ("overall", "read") if read else ("overall",)
        now_left = max(0, self.available(read))
        left = requests - now_left
        if left <= 0:
            return 0.0
        short = min(math.floor(self.counters[(p, SHORT_S)].limit * (1 - self.reserve)) for p in pairs)
        daily = min(math.floor(self.counters[(p, DAY_S)].limit * (1 - self.reserve)) for p in pairs)
        if short <= 0 or daily <= 0:
            return math.inf
        today_left = max(0, min(self.allowance((p, DAY_S), False) for p in pairs) - now_left)
        if left <= today_left:
            return next_reset(now, SHORT_S) - now + (math.ceil(left / short) - 1) * SHORT_S
        # Beyond today's allowance: whole days at the daily limit.
        left -= today_left
        days = math.ceil(left / daily) - 1
        rest = left - days * daily
        return next_reset(now, DAY_S) - now + days * DAY_S + (math.ceil(rest / short) - 1) * SHORT_S

    def usage_text(self) -> str:
        parts = []
        for pair in ("read", "overall"):
            s, d = self._current((pair, SHORT_S)), self._current((pair, DAY_S))
            parts.append(f"{pair} {s.usage}/{s.limit} per 15 min, {d.usage}/{d.limit} per day")
        return "; ".join(parts)


def _pair(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        a, b = (int(x.strip()) for x in value.split(",")[:2])
    except ValueError:
        return None
    return a, b
