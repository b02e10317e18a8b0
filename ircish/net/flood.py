"""Fakelag: a token bucket per client. Plain arithmetic, the caller owns the clock."""

from __future__ import annotations


class FloodGate:
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, burst: int, rate: float, now: float) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.tokens = float(burst)
        self.updated = now

    def delay(self, now: float) -> float:
        """Take one line's token; return how long to hold the line back (0 = at once)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate
