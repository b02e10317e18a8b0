"""A worker whose frames the server stopped taking ends, instead of reading on.

When the worker's send timed out, it used to go on reading and committing while no
ack or answer could reach the server: the server's unacknowledged events and its
queries waited for good. Now it commits what came and exits, so the server starts
a new worker and sends it what was never acknowledged.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import trio
import trio.testing

from ircish.history import codec
from ircish.history.rpc import FrameStream, LinkClosed
from ircish.history.settings import StoreSettings
from ircish.store.worker import Worker
from tests.store.helpers import msg


async def test_a_worker_that_cannot_send_commits_what_came_and_ends(tmp_path: Path) -> None:
    server_end, worker_end = trio.testing.memory_stream_pair()
    server, worker_link = FrameStream(server_end), FrameStream(worker_end)
    real_send = worker_link.send

    async def send_until_stuck(frame: Any) -> None:
        if frame[0] == "ready":
            await real_send(frame)
            return
        # What a send that timed out does: the link is broken for good.
        worker_link.broken = True
        raise LinkClosed("the peer read nothing for 30 s")

    worker_link.send = send_until_stuck  # type: ignore[method-assign]
    database = tmp_path / "h.db"
    settings = StoreSettings(url=f"sqlite:///{database}")
    ended = trio.Event()

    async def run_worker() -> None:
        await Worker(worker_link).run()
        ended.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_worker)
        await server.send(("hello", settings, str(tmp_path), logging.WARNING, False))
        assert (await server.receive())[0] == "ready"
        await server.send(("events", codec.encode([msg(f"line {n}") for n in range(5)])))
        with trio.fail_after(20):
            await ended.wait()
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT count(*) FROM history").fetchone()
    assert count == 5
