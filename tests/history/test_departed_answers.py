"""CHATHISTORY for a client who goes before the store answers: the work on its
behalf is cancelled when it goes, and nothing keeps the departed user alive."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from ircish.core.state import User
from ircish.history.feature import HistoryService
from ircish.net import connection
from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

from .conftest import ALL_CAPS, with_history


class GatedStore:
    """The real store client (and worker), but a LATEST query (a CHATHISTORY
    command's here) waits for ``gate`` before it is sent."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = trio.Event()
        self.waiting = 0
        self.cancelled = 0
        self.answered = 0

    async def ask(self, *requests: Any) -> list[Any]:
        if any(getattr(r, "sub", None) == "LATEST" for r in requests):
            self.waiting += 1
            try:
                await self.gate.wait()
            except trio.Cancelled:
                self.cancelled += 1
                raise
            finally:
                self.waiting -= 1
            answers: list[Any] = await self.real.ask(*requests)
            self.answered += 1
            return answers
        return list(await self.real.ask(*requests))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def settled(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait until ``condition`` holds (the store is a real worker process)."""
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.01)
    await trio.testing.wait_all_tasks_blocked()


def users_named(nick: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is User and o.nick == nick)


def answering(service: HistoryService) -> int:
    """The CHATHISTORY answers' tasks that are running."""
    assert service._nursery is not None
    return sum(1 for t in service._nursery.child_tasks if t.name.endswith("._run"))


Setup = tuple[RunningServer, GatedStore, RawClient]


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[Setup]:
    async with start_server(tmp_path, with_history()) as srv:
        service: HistoryService = srv.owner("history")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", ["echo-message"])
        await bob.send("JOIN #x", "PRIVMSG #x :stored line")
        await bob.expect("PRIVMSG")
        store = GatedStore(service.store)
        service.store = store  # type: ignore[assignment]
        yield srv, store, bob
        store.gate.set()
        await bob.aclose()


async def alice_asking(srv: RunningServer, store: GatedStore) -> RawClient:
    """alice, in #x, with a CHATHISTORY query waiting at the gate."""
    alice = await RawClient.connect(srv.port)
    await alice.register("alice", ALL_CAPS)
    await alice.send("JOIN #x")
    await alice.expect("366")
    await alice.send("CHATHISTORY LATEST #x * 10")
    await settled(lambda: store.waiting == 1)
    return alice


async def gone_for_good(srv: RunningServer, bob: RawClient, nick: str) -> None:
    """No ``User`` named ``nick`` is left. The outbox's last batch and the
    housekeeping loop hold the latest connection they saw until their next round:
    bob's PINGs and time give them one."""
    with trio.fail_after(10):
        while users_named(nick):
            await bob.send("PING :round")
            await bob.expect("PONG")
            await trio.sleep(0.2)


async def test_a_client_that_hangs_up_has_its_query_cancelled_and_is_freed(
    gated: Setup,
) -> None:
    srv, store, bob = gated
    service: HistoryService = srv.owner("history")
    alice = await alice_asking(srv, store)
    assert answering(service) == 1
    await alice.aclose()  # no QUIT: the socket closes while its lines wait
    quit_line = await bob.expect("QUIT")
    assert quit_line.source is not None and quit_line.source.startswith("alice!")
    await settled(lambda: store.cancelled == 1 and store.waiting == 0)
    assert srv.core.find_user("alice") is None
    assert not service.deferred._in_flight
    assert answering(service) == 0
    await gone_for_good(srv, bob, "alice")
    # The store opening later answers nobody: nothing was left to ask it.
    store.gate.set()
    await bob.send("PING :after")
    await bob.expect("PONG")
    assert store.answered == 0


async def test_lines_sent_before_hanging_up_still_count(gated: Setup) -> None:
    # The reader reads on while the answer is owed: the lines it found there are
    # handled as before, then the hang-up; the store never answered.
    srv, store, bob = gated
    alice = await alice_asking(srv, store)
    await alice.send("PRIVMSG #x :last words", "QUIT :bye now")
    await alice.aclose()
    said = await bob.expect("PRIVMSG")
    assert said.params == ["#x", "last words"]
    quit_line = await bob.expect("QUIT")
    assert quit_line.params == ["Quit: bye now"]
    await settled(lambda: store.cancelled == 1)
    assert store.answered == 0
    await gone_for_good(srv, bob, "alice")


async def test_a_connection_the_server_closes_cancels_its_query(gated: Setup) -> None:
    srv, store, bob = gated
    alice = await alice_asking(srv, store)
    user = srv.core.find_user("alice")
    assert user is not None
    srv.core.kill(user, "Killed (test)", "Killed (test)")
    del user
    await bob.expect("QUIT")
    await settled(lambda: store.cancelled == 1 and store.waiting == 0)
    await alice.aclose()
    await gone_for_good(srv, bob, "alice")


async def test_a_client_still_connected_gets_its_answer_then_its_later_lines(
    gated: Setup,
) -> None:
    srv, store, bob = gated
    alice = await alice_asking(srv, store)
    # Read ahead while the answer is owed, handled only after it.
    await alice.send("PRIVMSG #x :after the query", "PING :later")
    await trio.sleep(0.1)
    assert not [m for m in await bob.nothing_within(0.1) if m.command == "PRIVMSG"]
    store.gate.set()
    lines = await alice.collect_until("PONG")
    assert store.cancelled == 0 and store.answered == 1
    commands = [m.command for m in lines]
    assert commands.index("BATCH") < commands.index("PONG")
    assert any(m.command == "PRIVMSG" and m.params[-1] == "stored line" for m in lines)
    said = await bob.expect("PRIVMSG")
    assert said.params == ["#x", "after the query"]
    await alice.aclose()


async def test_a_second_read_ahead_before_the_first_is_taken(
    gated: Setup, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-ahead that ended with data the reader has not taken yet, then another
    before the reader takes it (seen in CI under irssi's traffic: the reader yielded
    mid-batch, the first run ended, and the batch's next line was a held query): the
    second run is a run of its own, not a failed connection."""
    srv, store, _ = gated
    monkeypatch.setattr(connection, "READ_AHEAD_MAX", 1)  # the first run ends at once
    alice = await alice_asking(srv, store)
    (conn,) = [c for c in srv.app.connections if c.user.nick == "alice"]
    await alice.send("PING :early")
    await settled(lambda: conn._ahead is not None and not conn._ahead.running
                  and conn._ahead.size > 0)
    monkeypatch.setattr(connection, "READ_AHEAD_MAX", 65536)
    conn._read_on()  # the reader's next held line, before it took "early"
    await trio.testing.wait_all_tasks_blocked()
    store.gate.set()
    await alice.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
    await alice.expect(lambda m: m.command == "PONG" and m.params[-1] == "early")
    await alice.send("PING :later")
    await alice.expect(lambda m: m.command == "PONG" and m.params[-1] == "later")
    assert "failed" not in caplog.text
    await alice.aclose()
