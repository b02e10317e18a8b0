"""The client against real servers: ircish in-process, and ngircd from Debian."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio

from ircish.testing import RunningServer, start_server
from tests.client.helpers import client_for, texts, wait_for
from tests.ircclient import RawClient


async def test_ircish_chat_both_ways(
    server: RunningServer,
    connect: Callable[..., Awaitable[RawClient]],
    nursery: trio.Nursery,
) -> None:
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    client = client_for(server.port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") and client.buffers.get("#lobby").members)  # type: ignore[union-attr]

    lobby = client.buffers.get("#lobby")
    assert lobby is not None
    assert {m.nick for m in lobby.members.values()} == {"ada", "bob"}

    client.session.say("#lobby", "hello from the client")
    got = await other.expect("PRIVMSG")
    assert got.params == ["#lobby", "hello from the client"]
    assert got.source is not None and got.source.startswith("ada!")

    await other.send("PRIVMSG #lobby :hi ada, welcome")
    await wait_for(lambda: "hi ada, welcome" in texts(client, "#lobby"))
    assert lobby.lines[-1].mention

    await other.send("PRIVMSG ada :just you and me")
    await wait_for(lambda: client.buffers.get("bob") is not None)
    query = client.buffers.get("bob")
    assert query is not None and query.mentioned and query.lines[-1].text == "just you and me"


async def test_ircish_nick_in_use(
    server: RunningServer,
    connect: Callable[..., Awaitable[RawClient]],
    nursery: trio.Nursery,
) -> None:
    await connect("ada")
    client = client_for(server.port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    assert client.session.nick == "ada_"


async def test_ngircd_register_join_talk_and_modes(ngircd: int, nursery: trio.Nursery) -> None:
    client = client_for(ngircd, join=("#lobby", "#ops"))
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#ops") and client.buffers.get("#ops").members)  # type: ignore[union-attr]
    lobby = client.buffers.get("#lobby")
    ops = client.buffers.get("#ops")
    assert lobby is not None and ops is not None
    assert lobby.topic == "the ngircd lobby"
    # ngircd's PREFIX has five modes; the creator of #ops is its operator
    assert ops.members["ada"].prefixes == "@"

    other = await RawClient.connect(ngircd)
    await other.register("bob")
    await other.send("JOIN #ops")
    await other.expect("366")
    await wait_for(lambda: "bob" in ops.members)
    client.session.send("MODE", "#ops", "+v", "bob")
    await wait_for(lambda: ops.members["bob"].prefixes == "+")

    client.session.say("#ops", "hello ngircd")
    got = await other.expect("PRIVMSG")
    assert got.params == ["#ops", "hello ngircd"]
    await other.send("PRIVMSG #ops :\x01ACTION waves at ada\x01")
    await wait_for(lambda: ops.lines[-1].kind == "action")
    assert ops.lines[-1].text == "waves at ada" and ops.lines[-1].mention
    await other.aclose()
    await wait_for(lambda: "bob" not in ops.members)


async def test_ngircd_nick_taken_and_changed(ngircd: int, nursery: trio.Nursery) -> None:
    other = await RawClient.connect(ngircd)
    await other.register("ada")
    client = client_for(ngircd)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered, timeout=10)
    assert client.session.nick == "ada_"
    client.session.send("NICK", "grace")
    await wait_for(lambda: client.session.nick == "grace")
    await other.aclose()


HISTORY_CONFIG = {"storage": {"url": "sqlite:///history.db", "flush_interval_ms": 20}}


@pytest.fixture
def ircish_offers_history(tmp_path: Path) -> None:
    """Skip (with a reason pytest can show: this runs outside Trio) without chathistory."""

    async def offered() -> bool:
        async with start_server(tmp_path / "probe", config=HISTORY_CONFIG) as srv:
            return "draft/chathistory" in srv.core.capabilities

    (tmp_path / "probe").mkdir()
    if not trio.run(offered):
        pytest.skip("this ircish build does not offer draft/chathistory")


async def test_ircish_history_on_join_and_scrolling_back(
    tmp_path: Path, nursery: trio.Nursery, ircish_offers_history: None
) -> None:
    server = await nursery.start(_serve_with_history, tmp_path / "run")
    other = await RawClient.connect(server.port)
    await other.register("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    for i in range(5):
        await other.send(f"PRIVMSG #lobby :earlier message {i}")
    # Its PONG comes after the server took the five lines, which a history query made
    # later reads (queued to the store ahead of it); a fixed 0.3 s wait was a guess.
    await other.send("PING :taken")
    await other.expect("PONG")

    client = client_for(server.port, history_lines=3)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered and client.buffers.get("#lobby"))
    assert "draft/chathistory" in client.session.caps
    lobby = client.buffers.get("#lobby")
    assert lobby is not None
    said = lambda: [line.text for line in lobby.lines if line.kind == "message"]  # noqa: E731
    await wait_for(lambda: len(said()) >= 3)
    assert said() == [f"earlier message {i}" for i in (2, 3, 4)]
    assert all(line.msgid for line in lobby.lines if line.kind == "message")
    assert lobby.unread == 0

    assert client.session.request_older(lobby)
    await wait_for(lambda: len(said()) == 5)
    assert said() == [f"earlier message {i}" for i in range(5)]
    await other.aclose()


async def _serve_with_history(
    base: Path, task_status: trio.TaskStatus[RunningServer] = trio.TASK_STATUS_IGNORED
) -> None:
    base.mkdir()
    async with start_server(base, config=HISTORY_CONFIG) as srv:
        task_status.started(srv)
        await trio.sleep_forever()


async def test_ircish_register_then_scram_login(tmp_path: Path, nursery: trio.Nursery) -> None:
    from ircish.client.commands import Context, run_input
    from tests.accounts.conftest import accounts_config

    async with start_server(tmp_path, accounts_config()) as server:
        first = client_for(server.port, join=())
        nursery.start_soon(first.connection.run)
        await wait_for(lambda: first.session.registered)
        run_input(Context(first.session, first.buffers, lambda r: None), "/register sesame-open")
        await wait_for(lambda: any("Registration of ada" in t for t in texts(first, "*")), 15)
        assert any("Registration of ada succeeded" in t for t in texts(first, "*"))
        await first.connection.quit("bye")

        second = client_for(
            server.port, nick="ada2", sasl_account="ada", sasl_password="sesame-open", join=()
        )
        nursery.start_soon(second.connection.run)
        await wait_for(lambda: second.session.registered, 15)
        assert second.session.account == "ada"
        assert any("SASL login succeeded (SCRAM-SHA-256)" in t for t in texts(second, "*"))
        await second.connection.quit("bye")
