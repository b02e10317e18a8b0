"""Replays on join: a cap per connection, and none kept for someone who has left."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from ircish.core import chathistory as ch
from ircish.core.events import MessageEvent
from ircish.history.feature import MAX_REPLAYS, HistoryService, pending_replays
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
        self.asking: set[str] = set()  # the channels whose replays wait at the gate

    async def ask(self, *requests: Any) -> list[Any]:
        targets = [r.target for r in requests if getattr(r, "sub", None) == "BEFORE"]
        if targets:
            self.waiting += 1
            self.asking.update(targets)
            try:
                await self.gate.wait()
            except trio.Cancelled:
                self.cancelled += 1
                raise
            finally:
                self.waiting -= 1
                self.asking.difference_update(targets)
        answers: list[Any] = await self.real.ask(*requests)
        return answers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def settled(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds. The replays wait on a real worker process, so
    wait_all_tasks_blocked alone can return before they reached the gate (under load)."""
    with trio.fail_after(10):
        while not condition():
            await trio.sleep(0.01)
    await trio.testing.wait_all_tasks_blocked()


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
        # The talker's own replays on join (nothing to replay yet) must be done before
        # the gate goes up, or they count as the other client's.
        user = srv.core.find_user("talker")
        assert user is not None
        await settled(lambda: not pending_replays(user).scopes)
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
    await settled(lambda: store.waiting >= MAX_REPLAYS)
    await trio.sleep(0.2)  # room for any replay over the cap to reach the gate too
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
    await settled(lambda: store.waiting == MAX_REPLAYS)
    # One asking, one waiting its turn (Trio starts the replays in no fixed order):
    # parting them drops both.
    asking = sorted(store.asking)[0]
    queued = next(c for c in CHANNELS if c not in store.asking)
    await plain.send(f"PART {asking},{queued}")
    await plain.expect("PART")
    await plain.expect("PART")
    await settled(lambda: store.cancelled >= 1 and store.waiting == MAX_REPLAYS)
    assert store.cancelled == 1
    await plain.send("QUIT :gone")
    await plain.expect("ERROR")
    await settled(lambda: store.waiting == 0)
    assert store.cancelled == 1 + MAX_REPLAYS
    # No task waits for the store on its behalf (each held the departed user).
    await settled(lambda: len(service._nursery.child_tasks) <= tasks)  # type: ignore[union-attr]
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
