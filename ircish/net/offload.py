"""``ircish.core.offload.Offload`` on Trio: blocking work in threads, timers as tasks.

Every job is a task in the server's nursery, so shutdown cancels the waiting
ones. Worker threads are few (a ``CapacityLimiter``): a password storm queues
up here instead of taking every core, and the event loop keeps its own.
hashlib's scrypt releases the GIL while it works, so a thread really frees the
loop. The callback runs on the event loop only if its user is still connected.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import trio

from ircish.net.connection import Connection

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

    def _start(self, job: Callable[..., Awaitable[None]], user: User | None,
               *args: object) -> None:
        if self.nursery is None:
            log.warning("deferred work %r dropped: the server is not running", args[-1])
            return
        # The client's next lines wait for this answer, so replies stay in the order
        # of the commands (as on a server that handles one client's lines in turn).
        conn = user.sink if user is not None and isinstance(user.sink, Connection) else None
        if conn is not None:
            conn.hold()
        self.nursery.start_soon(self._job, conn, job, user, *args)

    async def _job(self, conn: Connection | None, job: Callable[..., Awaitable[None]],
                   *args: object) -> None:
        try:
            await job(*args)
        finally:
            if conn is not None:
                conn.release()

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
