"""Replays on join: a cap per connection, and none kept for someone who has left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from ircish.core import chathistory as ch
from ircish.core.events import MessageEvent
from ircish.history.feature import MAX_REPLAYS, HistoryService
from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

from .conftest import with_history

CHANNELS = [f"#r{i}" for i in range(MAX_REPLAYS + 3)]


class GatedStore:
    """The real store client, but a BEFORE query (a replay's) waits for ``gate``."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = trio.Event()
        self.waiting = 0
        self.cancelled = 0

    async def ask(self, *requests: Any) -> list[Any]:
        if any(getattr(r, "sub", None) == "BEFORE" for r in requests):
            self.waiting += 1
            try:
                await self.gate.wait()
            except trio.Cancelled:
                self.cancelled += 1
                raise
            finally:
                self.waiting -= 1
        answers: list[Any] = await self.real.ask(*requests)
        return answers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, GatedStore]]:
    async with start_server(tmp_path, with_history()) as srv:
        service: HistoryService = srv.owner("history")
        talker = await RawClient.connect(srv.port)
        await talker.register("talker", ["echo-message"])
        await talker.send("JOIN " + ",".join(CHANNELS))
        for channel in CHANNELS:
            await talker.send(f"PRIVMSG {channel} :said in {channel}")
        for _ in CHANNELS:
            await talker.expect("PRIVMSG")
        store = GatedStore(service.store)
        service.store = store  # type: ignore[assignment]
        yield srv, store
        await talker.aclose()


async def test_one_connection_has_at_most_max_replays_asking_at_once(
    gated: tuple[RunningServer, GatedStore],
) -> None:
    srv, store = gated
    plain = await RawClient.connect(srv.port)
    await plain.register("plain")
    await plain.send("JOIN " + ",".join(CHANNELS))
    for _ in CHANNELS:
        await plain.expect("366")
    await trio.testing.wait_all_tasks_blocked()
    assert store.waiting == MAX_REPLAYS
    store.gate.set()
    # The others had their turn: every channel was replayed.
    ends = [await plain.expect(lambda m: m.command == "NOTICE"
                               and m.params[-1] == "*** end of replay") for _ in CHANNELS]
    assert sorted(m.params[0] for m in ends) == sorted(CHANNELS)
    await plain.aclose()


async def test_replays_of_a_user_who_left_are_dropped_before_the_store_answers(
    gated: tuple[RunningServer, GatedStore],
) -> None:
    srv, store = gated
    service: HistoryService = srv.owner("history")
    assert service._nursery is not None
    tasks = len(service._nursery.child_tasks)
    plain = await RawClient.connect(srv.port)
    await plain.register("plain")
    await plain.send("JOIN " + ",".join(CHANNELS))
    for _ in CHANNELS:
        await plain.expect("366")
    # One asking, one waiting its turn: parting them drops both.
    await plain.send(f"PART {CHANNELS[0]},{CHANNELS[-1]}")
    await plain.expect("PART")
    await plain.expect("PART")
    await trio.testing.wait_all_tasks_blocked()
    assert store.cancelled == 1
    assert store.waiting == MAX_REPLAYS
    await plain.send("QUIT :gone")
    await plain.expect("ERROR")
    await trio.testing.wait_all_tasks_blocked()
    assert store.waiting == 0
    assert store.cancelled == 1 + MAX_REPLAYS
    # No task waits for the store on its behalf (each held the departed user).
    assert len(service._nursery.child_tasks) == tasks
    await plain.aclose()


async def test_a_cancelled_query_still_ships_the_lines_queued_before_it(
    tmp_path: Path,
) -> None:
    # A dropped replay is a query cancelled while it ships the queued lines: they
    # must still reach the worker (they were taken off the queue), or they are never
    # written and a flush waits for ever.
    async with start_server(tmp_path, with_history()) as srv:
        store = srv.owner("history").store
        micros = srv.core.micros(srv.core.clock())
        store.submit(MessageEvent("m1", micros, "PRIVMSG", "a!a@h", "a", None, "#x", True,
                                  "queued before the query"))
        request = ch.HistoryRequest("LATEST", "#x", (), 10, ch.MESSAGE_KINDS, None, None)
        with trio.CancelScope() as scope:
            scope.cancel()
            await store.ask(request)
        flushed = False
        with trio.move_on_after(10):
            flushed = await store.flush()
        assert flushed
