"""The whole server on PostgreSQL: its worker migrates, stores, answers CHATHISTORY, and
what it stored is there after a restart. Skipped without IRCISH_TEST_POSTGRES_URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ircish.testing import start_server
from tests.ircclient import RawClient
from tests.store import postgres

from .conftest import ALL_CAPS, with_history
from .test_chathistory import history, texts


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres.fresh_database() as url:
        yield url


def pg_config(url: str) -> dict[str, object]:
    return with_history({"storage": {"url": url}, "channels": {"auto_join": ["#lobby"]}})


async def test_chathistory_and_targets_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with start_server(tmp_path, pg_config(pg_url)) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", [*ALL_CAPS, "echo-message"])
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", ALL_CAPS)
        for i in range(6):
            await alice.send(f"PRIVMSG #lobby :line {i}")
        await alice.send("PRIVMSG bob :psst")
        for _ in range(7):
            await alice.expect("PRIVMSG")
        _, latest = await history(bob, "CHATHISTORY LATEST #lobby * 3")
        assert texts(latest) == ["line 3", "line 4", "line 5"]
        ref = latest[0].tags["msgid"]
        _, before = await history(bob, f"CHATHISTORY BEFORE #lobby msgid={ref} 2")
        assert texts(before) == ["line 1", "line 2"]
        _, after = await history(bob, f"CHATHISTORY AFTER #lobby msgid={ref} 10")
        assert texts(after) == ["line 4", "line 5"]
        _, around = await history(bob, f"CHATHISTORY AROUND #lobby msgid={ref} 3")
        assert texts(around) == ["line 2", "line 3", "line 4"]
        _, private = await history(bob, "CHATHISTORY LATEST alice * 10")
        assert texts(private) == ["psst"]
        _, found = await history(
            bob, "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
                 "timestamp=2100-01-01T00:00:00.000Z 10")
        assert sorted(m.params[1] for m in found) == ["#lobby", "alice"]
        await alice.aclose()
        await bob.aclose()


async def test_history_and_channel_state_survive_a_restart_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    config = pg_config(pg_url)
    async with start_server(tmp_path, config) as srv:
        op = await RawClient.connect(srv.port)
        await op.register("op", ["echo-message"])
        await op.send("TOPIC #lobby :kept on postgres", "PRIVMSG #lobby :before the restart")
        await op.expect("PRIVMSG")
        await op.aclose()
    async with start_server(tmp_path, config) as srv:
        lobby = srv.core.find_channel("#lobby")
        assert lobby is not None and lobby.topic == "kept on postgres"
        late = await RawClient.connect(srv.port)
        await late.register("late", ALL_CAPS)
        _, lines = await history(late, "CHATHISTORY LATEST #lobby * 10")
        assert texts(lines) == ["before the restart"]
        await late.aclose()
