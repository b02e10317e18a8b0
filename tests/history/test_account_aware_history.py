"""Stored lines sent again as they were first seen: the sender's account tag, and a
JOIN in its extended-join form (event-playback), over sockets with accounts on."""

from __future__ import annotations

from pathlib import Path

from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.history.conftest import ALL_CAPS
from tests.history.test_chathistory import history
from tests.ircclient import RawClient


async def test_chathistory_and_replay_keep_account_and_realname(tmp_path: Path) -> None:
    config = accounts_config({"history": {"replay_on_join": 10}})
    async with start_server(tmp_path, config) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")  # realname "alice realname"
        await alice.send("REGISTER * * sesame-sesame")
        await alice.expect("900")
        guest = await RawClient.connect(srv.port)
        await guest.register("guest")
        for client in (alice, guest):
            await client.send("JOIN #c", "PRIVMSG #c :hello from " + client.nick)
            await client.send("PING sync")
            await client.expect("PONG")

        caps = [*ALL_CAPS, "draft/event-playback", "extended-join", "account-tag"]
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", caps)
        await bob.send("JOIN #c")
        await bob.expect("366")
        _, lines = await history(bob, "CHATHISTORY LATEST #c * 10")
        got = [(m.command, m.params, m.tags.get("account")) for m in lines]
        assert got == [
            ("JOIN", ["#c", "alice", "alice realname"], "alice"),
            ("PRIVMSG", ["#c", "hello from alice"], "alice"),
            ("JOIN", ["#c", "*", "guest realname"], None),
            ("PRIVMSG", ["#c", "hello from guest"], None),
            ("JOIN", ["#c", "*", "bob realname"], None),
        ]
        # Without the caps, the lines as before.
        plain = await RawClient.connect(srv.port)
        await plain.register("plain", [*ALL_CAPS, "draft/event-playback"])
        await plain.send("JOIN #c")
        await plain.expect("366")
        _, lines = await history(plain, "CHATHISTORY LATEST #c * 10")
        assert [(m.params, "account" in m.tags) for m in lines if m.command == "JOIN"] == [
            (["#c"], False)] * 4
        assert not any("account" in m.tags for m in lines)
        # The replay on join (messages only) reads the same stored lines.
        carol = await RawClient.connect(srv.port)
        await carol.register("carol", ["batch", "account-tag", "message-tags", "server-time"])
        _, replayed = await history(carol, "JOIN #c")
        assert [(m.params[1], m.tags.get("account")) for m in replayed] == [
            ("hello from alice", "alice"), ("hello from guest", None)]
        for client in (alice, guest, bob, plain, carol):
            await client.aclose()
