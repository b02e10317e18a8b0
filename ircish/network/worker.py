"""The network worker process: this node's side of the shared PostgreSQL.

Started by ``ircish.network.client.NetworkClient`` as ``python -m
ircish.network.worker FD`` with one end of a socketpair (frames as in
``ircish.history.rpc``). psycopg runs here, in threads of this process, never
on the server's loop. Two connections:

- the writer: this node's events (one transaction and one NOTIFY per batch:
  everything that arrived while the previous commit ran), nick claims, the
  lease renewal every third of the lease, and the reaping of dead nodes; one
  task uses it, in the order the server sent things, so a claim is decided
  before the events that follow it; a batch whose COMMIT's answer was lost is
  looked for before it is written again (``_committed_after_all``);
- the listener: LISTEN to each other origin's channel (``db.channel_of``; waited
  for on this loop, ``_wait_notifies``; its queries in threads), then the other
  origins' events past the last seq seen,
  sent to the server in each origin's order: from the notifications' payloads
  while they follow on, from the table after a gap and every ``POLL_S`` anyway
  (so a lost notification costs latency only).

Frames from the server: ``("hello", url, node, lease_s, level)``, ``("events",
[op...], history events)`` (``history.codec``; their rows go in the same
transaction, ``ircish.network.history``), ``("claim", id, session, nick,
registered, micros)``. To the server: ``("ready", Snapshot)`` or ``("fatal",
text)``, ``("remote", [(origin, seq, op)...])``, ``("written", frames)`` (how
many "events" frames are committed), ``("claimed", id, ok)``, ``("fenced",
text)``. When the writer cannot
renew the lease in time (the database unreachable, this process paused), the
worker says ``fenced`` and exits: a survivor removes this node's users, and the
server closes its clients.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
from collections import deque
from typing import Any

import psycopg
import trio

from ircish.history import codec
from ircish.history.rpc import FrameStream, LinkClosed
from ircish.network import db, history, upkeep
from ircish.network.outage import Outage

log = logging.getLogger("ircish.network.worker")

POLL_S = 0.5
# A backlog is committed in transactions of about this many events and lines, so a
# commit never takes long enough to hold the others' deliveries (and the lease) back.
MAX_BATCH = 2000
RETRY_S = 0.2


class Worker:
    def __init__(self, link: FrameStream) -> None:
        self.link = link
        self.node = ""
        self.lease_s = 10
        self.epoch = 0
        self.url = ""
        self._todo: deque[tuple[Any, ...]] = deque()
        self._wake = trio.Event()
        self._ended = False
        self._renewed = 0.0  # monotonic time of the last renewal that committed
        self.positions: dict[str, int] = {}
        self.conn: psycopg.Connection[Any] | None = None
        self.status = 0
        self.frames_written = 0  # "events" frames committed (the server's written())
        # The end of this node's sequence as last committed by this worker, and the
        # batch (frames, operations) whose write failed without an answer: it may have
        # committed all the same, and must then not be written again (its seqs twice).
        self.last_seq = 0
        self._in_doubt: tuple[int, int] | None = None
        self.retention_s = 3600
        self.outage = Outage(link.send)

    async def run(self) -> int:
        _, self.url, self.node, self.lease_s, level, *options = await self.link.receive()
        if options:
            self.retention_s = options[0]
        logging.getLogger().setLevel(level)
        try:
            # Autocommit: a batch of messages commits by one statement (``db.append``);
            # everything else opens its transaction itself.
            writer = await trio.to_thread.run_sync(db.connect, self.url, True, self._name("w"))
            listener = await trio.to_thread.run_sync(db.connect, self.url, True,
                                                     self._name("listen"))
            self.epoch, _ = await trio.to_thread.run_sync(db.join, writer, self.node,
                                                          self.lease_s)
            self._renewed = time.monotonic()
            snap = await trio.to_thread.run_sync(db.snapshot, writer, self.node, self.epoch)
        except (psycopg.Error, OSError) as exc:
            await self.link.send(("fatal", f"[network] cannot join the network: {exc}"))
            return 2
        self.positions = {k: v for k, v in snap.positions.items() if k != self.node}
        self.last_seq = snap.positions.get(self.node, 0)
        log.info("node %s joined the network with epoch %d", self.node, self.epoch)
        await self.link.send(("ready", snap))
        self.conn = writer
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._receive_loop)
                nursery.start_soon(self._write_loop, nursery)
                nursery.start_soon(self._listen_loop, listener)
                nursery.start_soon(upkeep.run, self.url, self.node,
                                   lambda: dict(self.positions), self.retention_s)
        finally:
            self.conn.close()
            listener.close()
        return self.status

    def _name(self, role: str) -> str:
        return f"ircish-network {self.node} {role}"

    async def _receive_loop(self) -> None:
        while True:
            try:
                frame = await self.link.receive()
            except LinkClosed:
                break
            self._todo.append(frame)
            self._wake.set()
        # The server is gone or done: write what came, end the lease, exit.
        self._ended = True
        self._wake.set()

    async def _write_loop(self, nursery: trio.Nursery) -> None:
        try:
            await self._write_until_ended()
        except db.Fenced as exc:
            log.error("node %s: %s; stopping", self.node, exc)
            self.status = 3
            try:
                await self.link.send(("fenced", str(exc)))
            except LinkClosed:
                pass
        nursery.cancel_scope.cancel()

    async def _write_until_ended(self) -> None:
        renew_every = self.lease_s / 3
        while True:
            with trio.move_on_after(max(0.0, self._renewed + renew_every - time.monotonic())):
                await self._wake.wait()
            self._wake = trio.Event()
            if time.monotonic() >= self._renewed + renew_every:
                await self._guarded(self._renew)
            while self._todo:
                # A backlog that never empties must not starve the lease: without this
                # a busy node fenced itself (seen at 10,000 messages/s).
                if time.monotonic() >= self._renewed + renew_every:
                    await self._guarded(self._renew)
                await self._guarded(self._write_some)
            if self._ended:
                try:
                    await trio.to_thread.run_sync(db.leave, self.conn, self.node, self.epoch)
                except psycopg.Error as exc:
                    log.warning("node %s: could not end its lease: %s", self.node, exc)
                return

    async def _guarded(self, step: Any) -> None:
        """``step`` until it commits; a database fault is retried until the lease
        would have run out, and then this node is as good as dead."""
        while True:
            try:
                await step(self.conn)
                await self.outage.ok("writer")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > self._renewed + self.lease_s:
                    raise db.Fenced(f"the database was unreachable past the lease: {exc}") \
                        from exc
                log.warning("node %s: database fault, retrying: %s", self.node, exc)
                await trio.sleep(RETRY_S)
                assert self.conn is not None
                if self.conn.broken or self.conn.closed:
                    try:
                        self.conn = await trio.to_thread.run_sync(db.connect, self.url, True,
                                                                  self._name("w"))
                    except psycopg.OperationalError as again:
                        log.warning("node %s: cannot reconnect yet: %s", self.node, again)
                        await self.outage.fault("writer", again)

    async def _renew(self, conn: psycopg.Connection[Any]) -> None:
        self.last_seq = await trio.to_thread.run_sync(db.renew, conn, self.node, self.epoch,
                                                      self.lease_s)
        self._renewed = time.monotonic()
        quits = await trio.to_thread.run_sync(db.reap, conn, self.node, self.epoch)
        if quits:
            self.last_seq += len(quits)
            # Our own sequence is not read back: the server hears of them here.
            log.warning("node %s removed %d users of nodes whose lease ran out", self.node,
                        len(quits))
            await self.link.send(("remote", [(self.node, 0, op) for op in quits]))

    async def _write_some(self, conn: psycopg.Connection[Any]) -> None:
        todo = self._todo
        frame = todo[0]
        if frame[0] == "claim":
            _, call_id, session, nick, registered, micros = frame
            ok = await trio.to_thread.run_sync(db.claim, conn, self.node, self.epoch, session,
                                               nick, registered, micros)
            todo.popleft()
            await self.link.send(("claimed", call_id, ok))
            return
        # Every batch of events queued up to the next claim goes in one commit, with
        # the history rows that came with them.
        ops: list[dict[str, Any]] = []
        encoded: codec.Encoded = []
        taken = 0
        for queued in todo:
            if queued[0] != "events":
                break
            if taken and len(ops) + len(encoded) + len(queued[1]) + len(queued[2]) > MAX_BATCH:
                break
            ops.extend(queued[1])
            encoded.extend(queued[2])
            taken += 1
        if not taken:
            log.error("network worker: unknown frame %r dropped", frame[0])
            todo.popleft()
            return
        if self._in_doubt is not None and await self._committed_after_all(conn):
            taken = self._in_doubt[0]
        elif ops or encoded:
            try:
                self.last_seq = await trio.to_thread.run_sync(self._append, conn, ops, encoded)
            except psycopg.OperationalError:
                # A batch without operations moves no seq, and its rows are written
                # again harmlessly (ON CONFLICT DO NOTHING): nothing to tell.
                if ops:
                    self._in_doubt = (taken, len(ops))
                raise
        self._in_doubt = None
        for _ in range(taken):
            todo.popleft()
        self.frames_written += taken
        await self.link.send(("written", self.frames_written))

    async def _committed_after_all(self, conn: psycopg.Connection[Any]) -> bool:
        """After a batch's write failed (``_in_doubt``): whether it committed all the
        same, its answer lost with the connection. Then its seqs are taken, and the
        same operations written again would take new ones, which the other nodes
        would replay a second time."""
        assert self._in_doubt is not None
        count = self._in_doubt[1]
        last = await trio.to_thread.run_sync(db.last_seq, conn, self.node, self.epoch)
        if last == self.last_seq + count:
            log.warning("node %s: a batch of %d operations committed though its answer was"
                        " lost; not written again", self.node, count)
            self.last_seq = last
            return True
        if last != self.last_seq:
            # Not this batch's doing, nor nothing: no telling what went in. Written
            # again, a line may be doubled, but none is lost.
            log.error("node %s: after a failed write its last seq is %d, neither %d nor %d"
                      " (a batch of %d operations); writing the batch again", self.node,
                      last, self.last_seq, self.last_seq + count, count)
        self._in_doubt = None
        return False

    def _append(self, conn: psycopg.Connection[Any], ops: list[dict[str, Any]],
                encoded: codec.Encoded) -> int:
        return commit(conn, self.node, self.epoch, ops, encoded)

    async def _listen_loop(self, conn: psycopg.Connection[Any]) -> None:
        read = True
        read_at = 0.0
        # The channels this connection listens to: the shared one of older nodes, and
        # each other origin's as the table names it (``db.channel_of``; never our own,
        # whose notifications would only wake this process for nothing). A node that
        # joins later is listened to from the next read of the table on (within
        # ``POLL_S``); its notifications before that are read from the table.
        listening: set[str] = set()
        origins: set[str] = set()
        while True:
            try:
                if read or time.monotonic() - read_at > POLL_S:
                    read_at = time.monotonic()
                    rows = await trio.to_thread.run_sync(db.read_new, conn, self.node,
                                                         self.positions, 5000, origins)
                    channels = {db.CHANNEL, *(db.channel_of(o) for o in origins)} - listening
                    # Read the table once more after rows (maybe more than one read's
                    # worth) or a new LISTEN (what was committed between the read and
                    # it has rung no bell here); ``read``, since a read past
                    # ``POLL_S`` found it False.
                    read = bool(rows or channels)
                    if channels:
                        await trio.to_thread.run_sync(db.listen, conn, sorted(channels))
                        listening |= channels
                    if rows:
                        await self.link.send(("remote", rows))
                    if read:
                        continue
                notes = await _wait_notifies(conn, POLL_S)
                if not notes:
                    read = True
                    continue
                # The operations ride in the notifications: no query while none is missed.
                rows, read = db.from_notifications(notes, self.node, self.positions)
                if rows:
                    await self.link.send(("remote", rows))
            except psycopg.OperationalError as exc:
                # Notifications sent meanwhile are lost; the positions are not.
                log.warning("node %s: the LISTEN connection failed (%s); reconnecting",
                            self.node, exc)
                read = True
                listening = set()  # a new connection listens to nothing yet
                await trio.sleep(RETRY_S)
                try:
                    conn = await trio.to_thread.run_sync(db.connect, self.url, True,
                                                         self._name("listen"))
                except psycopg.OperationalError as again:
                    await self.outage.fault("listener", again)
                    continue
                await self.outage.ok("listener")


def commit(conn: psycopg.Connection[Any], node: str, epoch: int, ops: list[dict[str, Any]],
           encoded: codec.Encoded) -> int:
    """A batch's operations and history events, in a thread of the worker: the rows are
    made here, off the worker's loop; the last seq (``db.append``'s). A batch the
    database refuses (a value longer than its column...) is written again with each
    operation and history event on its own: what is refused is logged and skipped (its
    seq a ``skipped`` operation), the rest commits, and the node stays on the network."""
    rows = history.Careful(encoded, node) if encoded else None
    try:
        return db.append(conn, node, epoch, ops, rows and rows.whole,
                         inline=rows.inline() if rows else db.Inline())
    except db.REFUSED as exc:
        log.warning("node %s: the database refused a batch of %d operations and %d"
                    " history events (%s); writing them one by one", node, len(ops),
                    len(encoded), db.reason(exc))
        return db.append(conn, node, epoch, ops, rows and rows.each, careful=True)


async def _wait_notifies(conn: psycopg.Connection[Any], timeout: float) -> list[str]:
    """The payloads of the next notifications (none after ``timeout``).

    On this loop, not in a thread: the wait is Trio's, on the connection's socket, and
    ``notifies(timeout=0)`` only takes what psycopg holds (notifications that came
    during a query) and what has arrived, so a notification costs one wake-up of this
    process instead of a thread's and then the loop's. A lost connection makes the
    socket readable and the read raise ``OperationalError``, as the thread's did."""
    deadline = trio.current_time() + timeout
    while True:
        payloads = [n.payload for n in conn.notifies(timeout=0)]
        if payloads:
            return payloads
        # Readable may also be half a message, or one that is no notification.
        with trio.move_on_at(deadline) as waiting:
            await trio.lowlevel.wait_readable(conn.pgconn.socket)
        if waiting.cancelled_caught:
            return []


async def _main(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    link = FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
    try:
        return await Worker(link).run()
    except LinkClosed:
        return 0
    finally:
        await link.aclose()


def main(argv: list[str]) -> int:
    # The server decides when this ends (a terminal's ^C reaches the whole group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    return trio.run(_main, int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
