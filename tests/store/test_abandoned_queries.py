"""A query whose asker gave up is dropped by the worker, not answered to nobody.

Under a storm of plugin look-ups that time out, answering every stale query put
thousands of reads ahead of the writer; the server now tells the worker which
calls nobody waits for any more.
"""

from __future__ import annotations

import logging
from pathlib import Path

import trio
import trio.testing

from ircish.core.chathistory import MESSAGE_KINDS, HistoryRequest, Viewer
from ircish.history import codec
from ircish.history.rpc import FrameStream
from ircish.history.settings import StoreSettings
from ircish.store.worker import Worker
from tests.store.helpers import msg


def latest(target: str) -> HistoryRequest:
    return HistoryRequest("LATEST", target, (None,), 10, MESSAGE_KINDS,
                          viewer=Viewer("asker", None, "s1"))


async def test_a_cancelled_query_is_dropped_and_the_next_answered(tmp_path: Path) -> None:
    server_end, worker_end = trio.testing.memory_stream_pair()
    server, worker_link = FrameStream(server_end), FrameStream(worker_end)
    worker = Worker(worker_link)
    settings = StoreSettings(url=f"sqlite:///{tmp_path / 'h.db'}")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(worker.run)
        await server.send(("hello", settings, str(tmp_path), logging.WARNING, False))
        assert (await server.receive())[0] == "ready"
        # Query 1 must see a line the writer cannot commit yet (its lock is held
        # here), so it waits; its asker gives up.
        async with worker.store.writer._commit_lock:  # type: ignore[union-attr]
            await server.send(("events", codec.encode([msg("unseen", target="#a")])))
            await server.send(("query", 1, (latest("#a"),), 5.0))
            await server.send(("query", 2, (latest("#b"),), 5.0))
            await trio.testing.wait_all_tasks_blocked()
            await server.send(("cancel", (1,)))
            await trio.testing.wait_all_tasks_blocked()
        frames = [await server.receive()]
        while frames[-1][0] != "result":
            frames.append(await server.receive())
        assert [f[1] for f in frames if f[0] == "result"] == [2]
        assert worker.abandoned == 1
        await server_end.aclose()
