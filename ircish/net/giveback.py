"""Giving memory back to the system once a crowd of clients has left.

What a departed crowd's objects occupied is free inside the process but not
given back by itself: glibc returns only the top of its heap, so the freed
chunks of sockets' buffers, dict tables and other blocks over 512 bytes stay
in RSS below whatever is still live above them. ``malloc_trim(0)`` hands
those free pages back. Done once when the server has gone quiet after a peak
(the connections fell to a quarter of it and stayed there), after a full
garbage collection so that cycles of the crowd's objects are freed first. It
is not done on a timer: it costs a full collection, and on a steady server
there is nothing to give back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable

log = logging.getLogger("ircish.net")

# Peaks smaller than this leave too little behind to be worth a full collection.
MIN_PEAK = 32
# Quiet means at most 1/QUIET_RATIO of the peak's connections are left...
QUIET_RATIO = 4
# ...for this long (seconds): a wave of reconnections is not a departure.
QUIET_S = 10.0


def glibc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


class Giveback:
    """Watches the connection count (``check``, cheap, once a second or so)."""

    def __init__(self, trim: Callable[[], int] | None) -> None:
        self._trim = trim
        self._peak = 0
        self._quiet_since: float | None = None
        self.done = 0  # how many times so far, for logs and tests

    def check(self, connections: int, now: float) -> bool:
        """True when it gave memory back just now."""
        if connections > self._peak:
            self._peak = connections
        if self._peak < MIN_PEAK or connections * QUIET_RATIO > self._peak:
            self._quiet_since = None
            return False
        if self._quiet_since is None:
            self._quiet_since = now
            return False
        if now - self._quiet_since < QUIET_S:
            return False
        self._peak = connections
        self._quiet_since = None
        gc.collect()
        if self._trim is not None:
            self._trim()
        self.done += 1
        log.debug("gave memory back after the connections fell to %d", connections)
        return True
