"""Plugins' api.history keeps to the clients' rules: a re-created channel's old
lines are not shown, from memory or from the store, and private lines never."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ircish.core import events
from ircish.hooks.history import MemoryHistory, PluginHistory
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.reader import HistoryReader
from ircish.store.writer import HistoryWriter
from tests.core.helpers import Net, make_server

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(f"sqlite:///{tmp_path / 'history.db'}", busy_timeout_ms=200)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


async def test_plugins_see_a_recreated_channel_from_its_creation_only(
    tmp_path: Path, engine: Engine
) -> None:
    memory, writer = MemoryHistory(), HistoryWriter(engine)
    now = [1_750_000_000.0]

    def emit(event: events.Event) -> None:
        memory.record(event)
        writer.submit(event)

    net = Net(make_server(tmp_path, clock=lambda: now[0], emit=emit))
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #hush", "MODE #hush +s", "PRIVMSG #hush :old secret", "PRIVMSG bob :dm")
    now[0] += 1
    alice.send("PART #hush")
    assert net.server.find_channel("#hush") is None
    now[0] += 60
    bob.send("JOIN #hush", "PRIVMSG #hush :new line")
    assert await writer.flush()

    reader = HistoryReader(engine)
    from_memory = PluginHistory(memory, net.server)
    from_store = PluginHistory(memory, net.server, reader)
    assert from_store.persistent and not from_memory.persistent
    for history in (from_memory, from_store):
        lines = await history.latest("#hush", 50)
        assert [(line.kind, line.text) for line in lines] == [("JOIN", ""), ("PRIVMSG", "new line")]
        assert await history.count_since("#hush", LONG_AGO) == 1
        assert await history.latest("bob", 50) == []
        # Alice was in the old #hush only: not seen there by the new one.
        assert await history.last_seen("alice", "#hush") is None
    # The store path is asked when memory has nothing: an empty memory, a fresh start.
    restarted = PluginHistory(MemoryHistory(), net.server, reader)
    assert await restarted.last_seen("alice", "#hush") is None
    assert await restarted.last_seen("alice") is None  # #hush is the only channel now
    seen = await restarted.last_seen("bob")
    assert seen is not None and seen.text == "new line"
    # A channel that is not there now shows nothing at all.
    bob.send("PART #hush")
    for history in (from_memory, from_store, restarted):
        assert await history.latest("#hush", 50) == []
        assert await history.count_since("#hush", LONG_AGO) == 0
