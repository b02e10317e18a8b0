"""A network worker whose queue never empties still renews its lease between batches
(it used to renew only when idle, and a node under load fenced itself)."""

from __future__ import annotations

import socket
import time

import trio

from ircish.history.rpc import FrameStream, LinkClosed
from ircish.network import db
from ircish.network.worker import Worker
from tests.network.test_db import url  # noqa: F401  (fixture)

LEASE_S = 1


def _stream(sock: socket.socket) -> FrameStream:
    return FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))


async def test_a_writer_that_is_never_idle_keeps_its_lease(url: str) -> None:  # noqa: F811
    ours, theirs = socket.socketpair()
    worker = Worker(_stream(ours))
    server = _stream(theirs)
    worker.node, worker.lease_s, worker.url = "n1", LEASE_S, url
    worker.conn = db.connect(url)
    try:
        worker.epoch, _ = db.join(worker.conn, "n1", LEASE_S)
        worker._renewed = time.monotonic()
        # Claims between the batches (one transaction each) are topped up while the
        # worker writes, so its queue is never empty for three leases, however fast
        # the database is: it must renew between batches or be fenced.
        queued = 0
        lowest = None

        async def producer() -> None:
            nonlocal queued, lowest
            until = time.monotonic() + 3 * LEASE_S
            while time.monotonic() < until:
                left = len(worker._todo)
                if queued:
                    lowest = left if lowest is None else min(lowest, left)
                while len(worker._todo) < 200:
                    worker._todo.append(
                        ("events", [{"t": "release", "session": f"x{queued}"}], []))
                    worker._todo.append(("claim", queued, f"s{queued}", f"nick{queued}",
                                         False, 1))
                    queued += 1
                worker._wake.set()
                await trio.sleep(0)
            worker._ended = True
            worker._wake.set()

        async def answers() -> None:
            try:
                while True:
                    await server.receive()
            except LinkClosed:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answers)
            nursery.start_soon(producer)
            await worker._write_until_ended()  # raised db.Fenced before
            nursery.cancel_scope.cancel()
        assert lowest is not None and lowest > 0  # never idle while it was measured
        row = worker.conn.execute("SELECT last_seq FROM network_nodes WHERE node_id = 'n1'"
                                  ).fetchone()
        assert row == (queued,)
    finally:
        worker.conn.close()
        await server.aclose()
        await worker.link.aclose()
