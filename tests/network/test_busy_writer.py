"""A network worker whose queue never empties still renews its lease between batches
(it used to renew only when idle, and a node under load fenced itself)."""

from __future__ import annotations

import socket
import time

import pytest
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
        # Claims between the batches: one transaction each, so the queue takes many
        # commits to empty, and is never empty before then.
        count = 2000
        for i in range(count):
            worker._todo.append(("events", [{"t": "release", "session": f"x{i}"}], []))
            worker._todo.append(("claim", i, f"s{i}", f"nick{i}", False, 1))
        worker._ended = True
        worker._wake.set()

        async def answers() -> None:
            try:
                while True:
                    await server.receive()
            except LinkClosed:
                pass

        began = time.monotonic()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answers)
            await worker._write_until_ended()  # raised db.Fenced before
            nursery.cancel_scope.cancel()
        if time.monotonic() - began < 2 * LEASE_S:
            pytest.skip("the queue emptied within the lease: nothing to prove here")
        row = worker.conn.execute("SELECT last_seq FROM network_nodes WHERE node_id = 'n1'"
                                  ).fetchone()
        assert row == (count,)
    finally:
        worker.conn.close()
        await server.aclose()
        await worker.link.aclose()
