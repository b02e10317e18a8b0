"""The filter hook (reject, rewrite, first result wins) and plugin-registered commands."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hooks.conftest import wait_until

FIRST = '''
from ircish.hooks import Reject, hookimpl

@hookimpl
def filter_message(sender, command, target, is_channel, text):
    if "forbidden" in text:
        return Reject("no forbidden words")
    if text.startswith("shout "):
        return text[6:].upper()
    return None
'''

SECOND = '''
from ircish.hooks import hookimpl

@hookimpl
def filter_message(text):
    # Enabled after FIRST, so asked after it: FIRST's "shout" rewrite wins.
    return "second saw " + text if text.startswith(("both", "shout")) else None
'''

BROKEN_FILTER = '''
from ircish.hooks import hookimpl

@hookimpl
def filter_message(text):
    raise KeyError(text)
'''

COMMANDS = '''
import trio
from ircish.hooks import BotCommand, ServerCommand, hookimpl

def helpme(nick, params, reply):
    reply(f"Help for {nick}: " + " ".join(params))

async def slowhelp(api, user, reply):
    await trio.sleep(0.01)
    reply(f"{user.nick} is in {', '.join(user.channels) or 'no channels'}")

async def roll(api, nick, channel, args, reply):
    await trio.sleep(0)
    reply(f"{nick} rolled {args[0] if args else 4} in {channel}")

def crash():
    raise RuntimeError("command crashed")

@hookimpl
def register_commands(api):
    return [
        ServerCommand("HELPME", helpme),
        ServerCommand("SLOWHELP", slowhelp),
        ServerCommand("CRASH", crash),
        ServerCommand("NEEDS", helpme, min_params=2),
        BotCommand("roll", roll, bot="Dice"),
    ]

@hookimpl
def on_server_start(api):
    api.bot("Dice").join("#games")
'''


async def test_filter_rejects_with_404_and_rewrites(plugin_server: Any) -> None:
    async with plugin_server({"first": FIRST, "second": SECOND}) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        for c in (alice, bob):
            await c.send("JOIN #room")
            await c.expect("366")
        await alice.send("PRIVMSG #room :this is forbidden")
        err = await alice.expect("404")
        assert err.params[1:] == ["#room", "Cannot send to channel: no forbidden words"]
        await alice.send("PRIVMSG bob :shout hello")
        assert (await bob.expect("PRIVMSG")).params == ["bob", "HELLO"]
        await alice.send("PRIVMSG #room :both ways")
        assert (await bob.expect("PRIVMSG")).params == ["#room", "second saw both ways"]
        await alice.send("PRIVMSG #room :plain")
        assert (await bob.expect("PRIVMSG")).params == ["#room", "plain"]
        assert not [m for m in bob.seen if "forbidden" in " ".join(m.params)]


async def test_failing_filter_delivers_unfiltered(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_server({"broken": BROKEN_FILTER}) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        await alice.send("PRIVMSG bob :still here")
        assert (await bob.expect("PRIVMSG")).params == ["bob", "still here"]
    assert "plugin broken: filter_message raised an exception" in caplog.text


async def test_server_and_bot_commands(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_server({"cmds": COMMANDS}) as h:
        alice = await h.client("alice")
        await alice.send("HELPME with things")
        reply = await alice.expect("NOTICE")
        assert reply.source == "irc.test" and reply.params == ["alice", "Help for alice: with "
                                                                        "things"]
        await alice.send("JOIN #games")
        await alice.expect("366")
        await alice.send("SLOWHELP")
        assert (await alice.expect("NOTICE")).params[1] == "alice is in #games"
        await alice.send("NEEDS one")
        assert (await alice.expect("461")).params[1] == "NEEDS"
        await alice.send("CRASH")
        assert (await alice.expect("400")).params[1:] == ["CRASH",
                                                          "Internal error in plugin cmds"]
        await alice.send("PRIVMSG #games :!roll 6")
        said = await alice.expect("PRIVMSG")
        assert said.source.startswith("Dice!") and said.params == ["#games",
                                                                   "alice rolled 6 in #games"]
        # In private the prefix may be left out; the bot answers the sender.
        await alice.send("PRIVMSG Dice :roll")
        said = await alice.expect("PRIVMSG")
        assert said.params == ["alice", "alice rolled 4 in None"]
        # A bot answers only in channels it is on.
        await alice.send("JOIN #elsewhere")
        await alice.expect("366")
        await alice.send("PRIVMSG #elsewhere :!roll")
        assert await alice.nothing_within(0.2) == []
    assert "plugin cmds: command CRASH raised an exception" in caplog.text


async def test_bots_are_real_users(plugin_server: Any) -> None:
    async with plugin_server({"cmds": COMMANDS}) as h:
        alice = await h.client("alice", caps=["multi-prefix"])
        isupport = " ".join(" ".join(m.params) for m in alice.seen if m.command == "005")
        assert "BOT=B" in isupport.split()
        await alice.send("JOIN #games")
        names = await alice.expect("353")
        assert "Dice" in names.params[-1].replace("@", "").split()
        await alice.send("WHOIS Dice")
        lines = await alice.collect_until("318")
        assert "335" in [m.command for m in lines]
        await alice.send("WHO #games")
        who = [m for m in await alice.collect_until("315") if m.command == "352"]
        assert any(m.params[5] == "Dice" and "B" in m.params[6] for m in who)
        await alice.send("NICK Dice")
        assert (await alice.expect("433")).params[1] == "Dice"


async def test_bot_command_from_disabled_plugin_is_gone(plugin_server: Any) -> None:
    async with plugin_server({"cmds": COMMANDS}) as h:
        alice = await h.client("alice")
        runner = h.runner
        runner.disable(runner.plugins["cmds"], "test")
        await alice.send("HELPME")
        assert (await alice.expect("421")).params[1] == "HELPME"
        await alice.send("WHOIS Dice")
        assert (await alice.expect(lambda m: m.command in ("401", "311"))).command == "401"
        await wait_until(lambda: "Dice" not in str(list(h.srv.core.users)))


async def test_a_bot_refused_is_logged(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_server({"cmds": COMMANDS}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #closed")
        await alice.expect("366")
        h.runner.plugins["cmds"].api.bot("Dice").say("#closed", "not a member, +n")
        assert await alice.nothing_within(0.1) == []
    assert "bot Dice was refused: :irc.test 404 Dice #closed :Cannot send to channel" in \
        caplog.text
