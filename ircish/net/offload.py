"""``ircish.core.offload.Offload`` on Trio: blocking work in threads, timers as tasks.

Every job is a task in the server's nursery, so shutdown cancels the waiting
ones. Worker threads are few (a ``CapacityLimiter``): a password storm queues
up here instead of taking every core, and the event loop keeps its own.
hashlib's scrypt releases the GIL while it works, so a thread really frees the
loop. The callback runs on the event loop only if its user is still connected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import trio

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

log = logging.getLogger("ircish.net")

T = TypeVar("T")

WORKER_THREADS = 2


class TrioOffload:
    def __init__(self, core: Server, threads: int = WORKER_THREADS) -> None:
        self.core = core
        self.limiter = trio.CapacityLimiter(threads)
        self.nursery: trio.Nursery | None = None  # set while the server runs

    def run_blocking(
        self, user: User | None, work: Callable[[], T], then: Callable[[T], None]
    ) -> None:
        self._start(self._run_blocking, user, work, then)

    def call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None:
        self._start(self._call_later, user, delay, then)

    def _start(self, job: Callable[..., object], *args: object) -> None:
        if self.nursery is None:
            log.warning("deferred work %r dropped: the server is not running", args[-1])
            return
        self.nursery.start_soon(job, *args)  # type: ignore[arg-type]

    async def _run_blocking(
        self, user: User | None, work: Callable[[], T], then: Callable[[T], None]
    ) -> None:
        try:
            result = await trio.to_thread.run_sync(work, limiter=self.limiter)
        except Exception:
            log.exception("blocking work %r failed", work)
            return
        self._deliver(user, then, result)

    async def _call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None:
        await trio.sleep(delay)
        self._deliver(user, then)

    def _deliver(self, user: User | None, then: Callable[..., None], *args: object) -> None:
        if user is not None and user not in self.core.connections:
            return  # gone meanwhile: nobody to answer
        try:
            then(*args)
        except Exception:
            log.exception("callback %r failed", then)
