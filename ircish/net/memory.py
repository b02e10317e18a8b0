"""Giving freed memory back to the operating system after a crowd has left.

CPython frees objects into its own arenas and glibc's heap, and neither hands the
pages back by itself: in the soak (``benchmarks/soak.py``) a server that had held
40 clients' churn kept its peak RSS after every client and every channel was
gone, although the live objects were back near their start. ``malloc_trim(0)``
returns glibc's free pages. It is cheap but takes the allocator's lock, so it
runs in a worker thread, and only when users have left since the last time:
a server whose crowd is still there has nothing to give back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

import trio

log = logging.getLogger("ircish.net")

# How often the server looks; a trim costs milliseconds on a heap of 100 MB.
TRIM_INTERVAL_S = 60.0


def find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


class Trimmer:
    """``await trimmer.after_departures(users_now)`` trims when users have gone."""

    def __init__(self, trim: Callable[[int], int] | None) -> None:
        self._trim = trim
        self._users_at_last_look = 0

    async def after_departures(self, users_now: int) -> bool:
        """True if it trimmed: there is a trim and fewer users than last time."""
        left = users_now < self._users_at_last_look
        self._users_at_last_look = users_now
        if self._trim is None or not left:
            return False
        trim = self._trim
        await trio.to_thread.run_sync(trim, 0)
        return True

    async def run(self, users: Callable[[], int]) -> None:
        while True:
            await trio.sleep(TRIM_INTERVAL_S)
            try:
                await self.after_departures(users())
            except Exception:
                log.exception("malloc_trim failed; not trying again")
                return
