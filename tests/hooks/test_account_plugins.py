"""The shipped welcome and seen bots know logged-in people by account, over sockets,
from memory and (after a restart) from the history store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.accounts.helpers import finish, sasl_plain, start_sasl
from tests.hooks.conftest import REPO_PLUGINS, plugin_config
from tests.hooks.test_shipped_plugins import from_bot
from tests.ircclient import RawClient

PASSWORD = "sesame-sesame"


def config() -> dict[str, Any]:
    overrides = accounts_config(plugin_config(
        REPO_PLUGINS, ["welcome_bot", "seen_bot"],
        # Greetings on connecting only: people's own lines are what gets counted.
        {"welcome_bot": {"channels": ["#lobby"], "join_greeting": "",
                         "join_welcome_back": ""}}))
    overrides["channels"] = {"auto_join": ["#lobby"]}
    return overrides


async def greeting(client: RawClient) -> str:
    msg = await client.expect(lambda m: from_bot("WelcomeBot")(m) and m.command == "NOTICE")
    return msg.params[1]


async def logged_in(port: int, nick: str, account: str) -> RawClient:
    client = await start_sasl(port, nick)
    assert await sasl_plain(client, account, PASSWORD) == "903"
    await finish(client)
    return client


async def sync(client: RawClient) -> None:
    await client.send("PING sync")
    await client.expect("PONG")


async def test_welcome_bot_knows_an_account_on_a_new_nick(tmp_path: Path) -> None:
    async with start_server(tmp_path, config()) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")
        assert (await greeting(alice)).startswith("Welcome to ircish, alice! You are the first")
        await alice.send(f"REGISTER * * {PASSWORD}")
        await alice.expect("900")
        await alice.send("PRIVMSG #lobby :one", "QUIT :bye")
        await alice.read_until_closed()

        watcher = await RawClient.connect(srv.port)
        await watcher.register("watcher")
        assert await greeting(watcher) == "Welcome to ircish, watcher!"
        await watcher.send("PRIVMSG #lobby :two")
        await sync(watcher)

        # The account on another nick: welcomed back, with what was said since.
        ally = await logged_in(srv.port, "ally", "alice")
        assert await greeting(ally) == ("Welcome back to ircish, ally! 1 message was said "
                                        "since your last visit.")
        await ally.send("QUIT :bye")
        await ally.read_until_closed()
        # An account never seen, on a nick seen before: new, for it is not the one
        # who had the nick (by nick it would be "welcome back").
        fresh = await RawClient.connect(srv.port)
        await fresh.register("fresh")
        await greeting(fresh)
        await fresh.send(f"REGISTER * * {PASSWORD}")
        await fresh.expect("900")
        await fresh.send("QUIT :bye")
        await fresh.read_until_closed()
        await watcher.send("NICK old_watcher")
        await watcher.expect("NICK")
        second = await logged_in(srv.port, "watcher", "fresh")
        assert await greeting(second) == "Welcome to ircish, watcher!"
        # Without an account, by nick as before.
        third = await RawClient.connect(srv.port)
        await third.register("ally")
        assert (await greeting(third)).startswith("Welcome back to ircish, ally! ")
        for client in (watcher, second, third):
            await client.aclose()


async def test_account_sightings_survive_a_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, config()) as srv:
        ally = await RawClient.connect(srv.port)
        await ally.register("ally")
        await ally.send(f"REGISTER alice * {PASSWORD}")
        await ally.expect("900")
        await ally.send("PRIVMSG #lobby :from ally")
        await sync(ally)
        await ally.aclose()

    async with start_server(tmp_path, config()) as srv:
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await greeting(bob)
        # No nick "alice" was ever seen: the seen bot answers by the account.
        await bob.send("PRIVMSG SeenBot :seen alice")
        seen = await bob.expect(lambda m: from_bot("SeenBot")(m) and m.command == "PRIVMSG")
        assert seen.params[1].startswith("ally was last seen "), seen
        assert seen.params[1].endswith("#lobby: from ally (logged in as alice)"), seen
        await bob.send("PRIVMSG SeenBot :seen nobody")
        seen = await bob.expect(lambda m: from_bot("SeenBot")(m) and m.command == "PRIVMSG")
        assert seen.params[1] == "I have not seen nobody."
        # The account's first visit since the restart, on yet another nick: from the store.
        al = await logged_in(srv.port, "al", "alice")
        assert await greeting(al) == ("Welcome back to ircish, al! No messages were said since "
                                      "your last visit.")
        for client in (bob, al):
            await client.aclose()
