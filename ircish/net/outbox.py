"""Getting queued bytes onto sockets with as few task switches as possible.

Broadcasts append bytes to each recipient's queue and mark the connection dirty.
One flusher task then writes every dirty connection's queue with a single
non-blocking ``send`` each, straight from the queue: no writer task is woken for
the common case of a socket with room. Only when the kernel takes less than
everything (a slow reader) does the connection get a writer task of its own,
which waits for the socket and keeps the order of what is queued after it.

Per delivery this costs a list append; per recipient and scheduler tick, one
``send`` system call. Waking a task per recipient per message (the simple design)
cost several times that in big channels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ircish.core.state import Sink
    from ircish.net.connection import Connection

log = logging.getLogger("ircish.net")

# Connection.state values.
IDLE = 0  # nothing queued, or the queue is about to be flushed by the writer
DIRTY = 1  # queued, waiting for the flusher
WRITING = 2  # a writer task owns the socket until the queue is empty


class Outbox:
    __slots__ = ("_dirty", "_task", "_waiting", "connection_class")

    def __init__(self, connection_class: type[Connection]) -> None:
        self.connection_class = connection_class
        self._dirty: list[Connection] = []
        # The flusher (run) while it waits for work: woken by a plain reschedule, not
        # a ParkingLot (its queue entry and unpark generator: ~11,000 instructions a
        # wake-up in benchmarks.line_callgrind, and a node has one a line).
        self._task: trio.lowlevel.Task | None = None
        self._waiting = False

    def mark(self, conn: Connection) -> None:
        conn.state = DIRTY
        self._dirty.append(conn)
        if self._waiting:
            self._wake()

    def fanout(self, sinks: Iterable[Sink], data: bytes, skip: Sink | None) -> None:
        """``Connection.send`` to many at once, inlined: the server's hottest loop.

        A big channel runs this body once per member per message, so it makes no
        method call per member; other sinks (bots) get an ordinary ``send``.
        """
        size = len(data)
        connection_class = self.connection_class
        dirty = self._dirty
        for sink in sinks:
            if sink is skip:
                continue
            if sink.__class__ is not connection_class:
                sink.send(data)
                continue
            conn: Connection = sink  # type: ignore[assignment]
            if conn.closing:
                continue
            queued = conn.queued + size
            if queued > conn.sendq_limit:
                conn.overflow()
                continue
            conn.queued = queued
            conn.buf.append(data)
            if conn.state == IDLE:
                conn.state = DIRTY
                dirty.append(conn)
        if dirty and self._waiting:
            self._wake()

    def _wake(self) -> None:
        self._waiting = False
        assert self._task is not None
        trio.lowlevel.reschedule(self._task)

    def _abort(self, _: object) -> trio.lowlevel.Abort:
        self._waiting = False  # cancelled while waiting: nobody may reschedule it now
        return trio.lowlevel.Abort.SUCCEEDED

    async def run(self) -> None:
        self._task = trio.lowlevel.current_task()
        while True:
            if not self._dirty:
                self._waiting = True
                await trio.lowlevel.wait_task_rescheduled(self._abort)
                continue
            batch, self._dirty = self._dirty, []
            _flush(batch)
            # Not kept while parked: the last batch would hold its connections
            # (a departed client's buffers too) until the next write.
            del batch
            if self._dirty:
                # Let readers run between big flushes rather than starve them. With
                # nothing new (the usual case) the wait above is that yield: a
                # checkpoint first cost a second trip through the scheduler a flush.
                await trio.lowlevel.checkpoint()


def _flush(batch: list[Connection]) -> None:
    """Each connection's queue written; one that fails is aborted, the rest go on.
    A function of its own so that no loop variable outlives the batch."""
    for conn in batch:
        try:
            conn.flush_now()
        except Exception:
            log.exception("flushing to %s failed", conn.user.source)
            conn.abort("Write error")
