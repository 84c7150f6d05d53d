"""Polar's two rate-limit windows, read from every answer's headers.

``RateLimit-Usage: 12, 340``, ``RateLimit-Limit: 500, 5000`` and
``RateLimit-Reset: 530, 80000`` give usage, limit and seconds to reset for the
15-minute and the 24-hour window. We stop while ``reserve_fraction`` of either
limit is left (other tools of the same user share nothing, but the limit scales
with the client's user count and we never want to be the one hitting it).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ingest.polar.errors import RateLimited

DEFAULT_WAIT_S = 900.0  # a 429 without readable headers: the 15-minute window


def _values(text: str | None) -> list[float]:
    out: list[float] = []
    for part in (text or "").split(","):
        try:
            out.append(float(part.strip()))
        except ValueError:
            out.append(float("nan"))
    return out


@dataclass
class Window:
    usage: float
    limit: float
    reset_at: float


class RateWindows:
    def __init__(self, reserve_fraction: float = 0.1, clock: Callable[[], float] = time.time) -> None:
        self.reserve = min(max(reserve_fraction, 0.0), 0.9)
        self.clock = clock
        self.windows: list[Window] = []

    def update(self, headers: Mapping[str, str]) -> None:
        usage, limit, reset = (_values(headers.get(h)) for h in ("RateLimit-Usage", "RateLimit-Limit", "RateLimit-Reset"))
        now = self.clock()
        found = [Window(u, lim, now + r) for u, lim, r in zip(usage, limit, reset, strict=False) if u == u and lim == lim and r == r and lim > 0]
        if found:
            self.windows = found

    def _full(self, w: Window) -> bool:
        return w.usage >= w.limit * (1.0 - self.reserve) and w.reset_at > self.clock()

    def resume_at(self, exceeded: bool = False) -> float:
        """When the fullest window resets (after a 429, the latest reset of any full window)."""
        full = [w.reset_at for w in self.windows if self._full(w) or (exceeded and w.usage >= w.limit)]
        if not full and exceeded:
            full = [w.reset_at for w in self.windows[:1]] or [self.clock() + DEFAULT_WAIT_S]
        return max(full) if full else self.clock()

    def check(self) -> None:
        """Raise ``RateLimited`` when a window is used up to the reserve."""
        if any(self._full(w) for w in self.windows):
            at = self.resume_at()
            raise RateLimited(f"Polar rate limit (kept {self.reserve:.0%} in reserve): wait until "
                              f"{time.strftime('%H:%M:%S', time.gmtime(at))} UTC", at)
        for w in self.windows:
            if w.reset_at <= self.clock():
                w.usage = 0.0  # the window has reset since the last answer
