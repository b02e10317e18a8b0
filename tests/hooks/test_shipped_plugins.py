"""The plugins in plugins/: welcome_bot, word_filter, seen_bot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ircish.app import build_server
from ircish.hooks.manager import PluginError
from ircish.testing import start_server
from ircish.testing import test_config as make_config
from tests.hooks.conftest import REPO_PLUGINS, plugin_config


def from_bot(nick: str) -> Any:
    return lambda m: m.command in ("PRIVMSG", "NOTICE") and (m.source or "").startswith(nick)


async def bot_says(client: Any, nick: str, count: int) -> set[tuple[str, str, str]]:
    """The next ``count`` lines from a bot as (verb, target, text): async hooks finish
    in any order."""
    lines = [await client.expect(from_bot(nick)) for _ in range(count)]
    return {(m.command, m.params[0], m.params[1]) for m in lines}


async def test_welcome_bot(plugin_server: Any) -> None:
    settings = {"welcome_bot": {"channels": ["#lobby"]}}
    async with plugin_server({}, ["welcome_bot"], settings, directory=REPO_PLUGINS,
                             config={"channels": {"auto_join": ["#lobby"]}}) as h:
        alice = await h.client("alice")
        # Both greetings are private NOTICEs: a join says nothing to the channel.
        assert await bot_says(alice, "WelcomeBot", 2) == {
            ("NOTICE", "alice", "Welcome to ircish, alice! You are the first to connect since "
                                "the server started."),
            ("NOTICE", "alice", "Hello alice, welcome to #lobby!"),
        }

        bob = await h.client("bob")
        assert ("NOTICE", "bob", "Welcome to ircish, bob!") in await bot_says(
            bob, "WelcomeBot", 2)
        assert not any(m.params[0] == "#lobby" for m in alice.seen if from_bot("WelcomeBot")(m))
        await bob.send("QUIT :brb")
        await bob.read_until_closed()
        for text in ("one", "two", "three"):
            await alice.send(f"PRIVMSG #lobby :{text}")
        await alice.send("PING sync")
        await alice.expect("PONG")

        bob = await h.client("bob")
        assert await bot_says(bob, "WelcomeBot", 2) == {
            ("NOTICE", "bob", "Welcome back to ircish, bob! 3 messages were said since your "
                              "last visit."),
            ("NOTICE", "bob", "Welcome back to #lobby, bob! 3 messages were said here since "
                              "your last visit."),
        }
        # Joining a channel that is not greeted says nothing.
        await bob.send("JOIN #quiet")
        await bob.expect("366")
        assert [m for m in await bob.nothing_within(0.2) if from_bot("WelcomeBot")(m)] == []


async def test_welcome_bot_templates_are_checked_at_start(tmp_path: Path) -> None:
    config = make_config(tmp_path, plugin_config(
        REPO_PLUGINS, ["welcome_bot"], {"welcome_bot": {"greeting": "Hi {nickname}"}}))
    with pytest.RaisesGroup(
        pytest.RaisesExc(PluginError, match="plugin 'welcome_bot': on_server_start KeyError"),
        flatten_subgroups=True,
    ):
        async with start_server(tmp_path, app=build_server(config)):
            pass  # pragma: no cover


async def test_word_filter(plugin_server: Any) -> None:
    settings = {"word_filter": {"words": ["darn", "heck"], "channels": ["#clean"]}}
    async with plugin_server({}, ["word_filter"], settings, directory=REPO_PLUGINS) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        for c in (alice, bob):
            await c.send("JOIN #clean,#free")
            await c.expect("366")
            await c.expect("366")
        await alice.send("PRIVMSG #clean :Darn it, what the heck")
        assert (await bob.expect("PRIVMSG")).params == ["#clean", "**** it, what the ****"]
        await alice.send("PRIVMSG #free :darn")
        assert (await bob.expect("PRIVMSG")).params == ["#free", "darn"]
        await alice.send("PRIVMSG #clean :darning is fine")
        assert (await bob.expect("PRIVMSG")).params == ["#clean", "darning is fine"]


async def test_word_filter_reject(plugin_server: Any) -> None:
    settings = {"word_filter": {"words": ["spam"], "action": "reject"}}
    async with plugin_server({}, ["word_filter"], settings, directory=REPO_PLUGINS) as h:
        alice = await h.client("alice")
        await h.client("bob")
        await alice.send("PRIVMSG bob :buy spam")
        assert (await alice.expect("404")).params[1:] == [
            "bob", "Cannot send to nick: your message contains a blocked word"]


async def test_seen_bot(plugin_server: Any) -> None:
    settings = {"seen_bot": {"channels": ["#lobby"]}}
    async with plugin_server({}, ["seen_bot"], settings, directory=REPO_PLUGINS) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #lobby")
        await alice.expect("366")
        carol = await h.client("carol")
        await carol.send("JOIN #lobby", "PRIVMSG #lobby :see you all")
        await alice.expect("PRIVMSG")
        await carol.send("QUIT :off to lunch")
        await carol.read_until_closed()
        await alice.expect("QUIT")

        await alice.send("PRIVMSG #lobby :!seen carol")
        said = await alice.expect(from_bot("SeenBot"))
        assert said.params[0] == "#lobby"
        assert said.params[1].startswith("carol was last seen ")
        assert said.params[1].endswith(", quitting")
        await alice.send("SEEN dave")
        assert (await alice.expect("NOTICE")).params == ["alice", "I have not seen dave."]
        await alice.send("PRIVMSG SeenBot :seen alice")
        assert (await alice.expect(from_bot("SeenBot"))).params == ["alice", "That's you!"]


async def test_bot_messages_do_not_trigger_bot_commands(plugin_server: Any) -> None:
    # SeenBot says "!seen" itself: it must not answer itself (no loops).
    async with plugin_server({}, ["seen_bot"], {"seen_bot": {"channels": ["#x"]}},
                             directory=REPO_PLUGINS) as h:
        runner = h.runner
        bot = runner.plugins["seen_bot"].api.bot("SeenBot")
        client = await h.client("alice")
        await client.send("JOIN #x")
        await client.expect("366")
        bot.say("#x", "!seen alice")
        assert (await client.expect("PRIVMSG")).params == ["#x", "!seen alice"]
        assert [m for m in await client.nothing_within(0.2) if m.command == "PRIVMSG"] == []

