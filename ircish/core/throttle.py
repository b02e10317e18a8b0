"""Counting failed attempts at something expensive, by key, over a sliding window.

A password check costs tens of milliseconds of CPU, so whoever may ask for one
(OPER; later SASL and NickServ IDENTIFY) must be limited: per connection, per IP,
per account, each a key here. The clock is injected, so the policies built on
this are tested with a fake one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable


class AttemptThrottle:
    """Failures per key within the last ``window`` seconds, and the keys with an
    attempt still in progress (at most one per key: a client that sends ten
    attempts at once gets one checked, the rest refused without any work)."""

    def __init__(self, window: float, clock: Callable[[], float]) -> None:
        self.window = window
        self.clock = clock
        self._failures: dict[Hashable, deque[float]] = {}
        self._pending: dict[Hashable, float] = {}
        self._swept = clock()

    def failures(self, key: Hashable) -> int:
        """How many failures ``key`` had in the window."""
        times = self._failures.get(key)
        if times is None:
            return 0
        self._expire(times, self.clock())
        return len(times)

    def fail(self, key: Hashable) -> int:
        """Record one failure now; return the count in the window, this one included."""
        now = self.clock()
        self._sweep(now)
        times = self._failures.setdefault(key, deque())
        self._expire(times, now)
        times.append(now)
        return len(times)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    # ---- attempts in progress -------------------------------------------------------

    def busy(self, key: Hashable) -> bool:
        """True while an attempt of ``key`` is being checked or its answer is delayed."""
        started = self._pending.get(key)
        if started is None:
            return False
        if self.clock() - started >= self.window:
            # Its answer never came (the client left mid-check): not busy forever.
            del self._pending[key]
            return False
        return True

    def begin(self, key: Hashable) -> None:
        self._pending[key] = self.clock()

    def end(self, key: Hashable) -> None:
        self._pending.pop(key, None)

    # ---- housekeeping ---------------------------------------------------------------

    def _expire(self, times: deque[float], now: float) -> None:
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()

    def _sweep(self, now: float) -> None:
        # Once a window, drop keys with nothing left in it, so a stream of one-off
        # keys (connections, IPs) cannot grow the tables without bound.
        if now - self._swept < self.window:
            return
        self._swept = now
        for key, times in list(self._failures.items()):
            self._expire(times, now)
            if not times:
                del self._failures[key]
        horizon = now - self.window
        for key, started in list(self._pending.items()):
            if started <= horizon:
                del self._pending[key]
