"""History follows a renamed channel: CHATHISTORY, replay and the stored state use the new name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ircish.history.feature import REPLAYED
from ircish.rename.feature import CAP
from tests.history.conftest import ALL_CAPS, with_history
from tests.ircclient import RawClient

CAPS = [*ALL_CAPS, "echo-message", CAP]


async def history(client: RawClient, target: str) -> list[tuple[str, str]]:
    """(target, text) of each PRIVMSG CHATHISTORY LATEST returns for ``target``."""
    await client.send(f"CHATHISTORY LATEST {target} * 10")
    start = len(client.seen)
    await client.expect(lambda m: (m.command == "BATCH" and m.params[0][0] == "-")
                        or m.command == "FAIL")
    return [(m.params[0], m.params[1]) for m in client.seen[start:]
            if m.command == "PRIVMSG" and "batch" in m.tags]


async def member(port: int, nick: str, channel: str, caps: list[str]) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick, caps)
    await client.send(f"JOIN {channel}")
    await client.expect("366")
    return client


async def said(client: RawClient, channel: str, text: str) -> None:
    await client.send(f"PRIVMSG {channel} :{text}")
    await client.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == text)


async def test_chathistory_on_the_new_name_returns_what_was_said_before(
    make_server: Callable[..., Any],
) -> None:
    async with make_server(with_history()) as srv:
        alice = await member(srv.port, "alice", "#old", CAPS)
        bob = await member(srv.port, "bob", "#old", CAPS)
        for text in ("one", "two"):
            await said(alice, "#old", text)
        await alice.send("RENAME #old #New :tidy")
        await bob.expect("RENAME")
        await said(alice, "#New", "three")
        assert await history(bob, "#new") == [("#New", "one"), ("#New", "two"),
                                               ("#New", "three")]
        # The old name is nobody's channel now: nothing to read there.
        assert await history(bob, "#old") == []
        assert bob.seen[-1].command == "FAIL"
        # Someone arriving later without CHATHISTORY is replayed the old lines.
        carol = await RawClient.connect(srv.port)
        await carol.register("carol", ["server-time"])
        await carol.send("JOIN #new")
        await carol.expect(lambda m: m.command == "NOTICE" and "end of replay" in m.params[1])
        replayed = [m.params[1] for m in carol.seen if m.command == "PRIVMSG"]
        assert replayed == ["one", "two", "three"]


async def test_a_persistent_channel_comes_back_under_its_new_name(
    make_server: Callable[..., Any],
) -> None:
    async with make_server(with_history()) as srv:
        op = await member(srv.port, "op", "#old", CAPS)
        # +P is for IRC operators (OPER itself is tested elsewhere).
        srv.core.set_user_mode(srv.core.find_user("op"), "o", True)
        await op.send("MODE #old +Ps", "TOPIC #old :kept", "MODE #old +b bad!*@*")
        await op.expect(lambda m: m.command == "MODE" and m.params[1] == "+b")
        await op.send("RENAME #old #new")
        await op.expect("RENAME")
        await said(op, "#new", "hello")
        await op.send("QUIT")
    async with make_server(with_history()) as srv:
        core = srv.app.core
        assert core.find_channel("#old") is None
        channel = core.find_channel("#new")
        assert channel is not None and channel.name == "#new"
        assert channel.topic == "kept" and {"P", "s"} <= channel.modes
        assert [b[0] for b in channel.bans] == ["bad!*@*"]
        again = await member(srv.port, "again", "#new", CAPS)
        assert await history(again, "#new") == [("#new", "hello")]


async def test_a_replay_had_under_the_old_name_is_not_repeated_under_the_new(
    make_server: Callable[..., Any],
) -> None:
    async with make_server(with_history()) as srv:
        op = await member(srv.port, "op", "#old", CAPS)
        await said(op, "#old", "before")
        carol = await RawClient.connect(srv.port)
        await carol.register("carol")
        await carol.send("JOIN #old")
        await carol.expect(lambda m: m.command == "NOTICE" and "end of replay" in m.params[1])
        await op.send("RENAME #old #new")
        await carol.expect("366")
        # The replay arrives from a task, so whether a rejoin would repeat it is
        # read from the state that decides it: this connection has had #new's.
        replayed = srv.core.find_user("carol").ext[REPLAYED]
        assert replayed == {"#new"}
