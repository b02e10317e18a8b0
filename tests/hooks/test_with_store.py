"""Plugins over the history store: answers survive a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ircish.testing import start_server
from tests.hooks.conftest import REPO_PLUGINS, plugin_config
from tests.hooks.test_shipped_plugins import from_bot
from tests.ircclient import RawClient


def config(tmp_path: Path) -> dict[str, Any]:
    overrides = plugin_config(REPO_PLUGINS, ["welcome_bot", "seen_bot"],
                              # No greetings in the channel: only people's lines count.
                              {"welcome_bot": {"channels": ["#lobby"], "join_greeting": "",
                                               "join_welcome_back": ""}})
    overrides["storage"] = {"url": f"sqlite:///{tmp_path / 'history.db'}",
                            "flush_interval_ms": 10}
    overrides["channels"] = {"auto_join": ["#lobby"]}
    return overrides


async def test_welcome_back_and_seen_after_a_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, config(tmp_path)) as srv:
        assert srv.owner("plugins").plugins["welcome_bot"].api.history.persistent
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await alice.send("QUIT :later")
        await alice.read_until_closed()
        for text in ("one", "two"):
            await bob.send(f"PRIVMSG #lobby :{text}")
        await bob.send("PING sync")
        await bob.expect("PONG")
        await bob.aclose()

    async with start_server(tmp_path, config(tmp_path)) as srv:
        # The first client after the restart, but a regular: welcomed back.
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        back = await bob.expect(from_bot("WelcomeBot"))
        assert back.params == ["bob", "Welcome back to ircish, bob! No messages were said "
                                      "since your last visit."]
        carol = await RawClient.connect(srv.port)
        await carol.register("carol")
        await carol.send("PRIVMSG SeenBot :seen alice")
        seen = await carol.expect(lambda m: from_bot("SeenBot")(m) and m.command == "PRIVMSG")
        assert seen.params[1].startswith("alice was last seen ")
        assert seen.params[1].endswith("quitting #lobby"), seen
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")
        back = await alice.expect(from_bot("WelcomeBot"))
        assert back.params == ["alice", "Welcome back to ircish, alice! 2 messages were said "
                                        "since your last visit."]
        for client in (bob, carol, alice):
            await client.aclose()
