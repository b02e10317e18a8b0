"""The plugin API: read-only views, history from memory, config, bots joining and parting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hooks.conftest import wait_until

PROBE = '''
from ircish.hooks import hookimpl

results = {}

@hookimpl
def on_server_start(api):
    results["config"] = dict(api.config)
    bot = api.bot("Probe")
    results["joined"] = bot.join("#room")

@hookimpl
async def on_message(api, nick, text, target, from_bot, time):
    if from_bot or text != "probe":
        return
    user = api.user(nick)
    channel = api.channel(target)
    results["user"] = (user.nick, user.username, user.is_bot, user.channels, user.is_oper)
    results["channel"] = (channel.name, channel.topic, sorted(channel.members), channel.ops,
                          channel.has("PROBE"), channel.modes)
    results["bot"] = api.user("Probe").is_bot, "B" in api.user("Probe").modes
    results["latest"] = [(l.kind, l.nick, l.text) for l in await api.history.latest(target, 4)]
    results["seen"] = await api.history.last_seen(nick, target, before=time)
    results["count"] = await api.history.count_since(target, results["seen"].time)
    results["persistent"] = api.history.persistent
    results["missing"] = api.user("nobody"), api.channel("#nowhere")
    results["parted"] = api.bot("Probe").part("#room", "bye"), api.bot("Probe").channels
    try:
        user.nick = "hacked"
    except AttributeError:
        results["read_only"] = True
'''


async def test_views_history_and_config(plugin_server: Any) -> None:
    async with plugin_server({"probe": PROBE}, settings={"probe": {"colour": "blue"}}) as h:
        results = h.module("probe").results
        assert results["config"] == {"colour": "blue"} and results["joined"] is True
        alice = await h.client("alice")
        await alice.send("JOIN #room", "PRIVMSG #room :hello", "PRIVMSG #room :probe")
        await wait_until(lambda: "read_only" in results)
        assert results["user"] == ("alice", "~alice", False, ("#room",), False)
        name, topic, members, ops, has, modes = results["channel"]
        # The bot made the channel, so it holds ops.
        assert (name, topic, members, ops, has) == ("#room", "", ["Probe", "alice"],
                                                    ("Probe",), True)
        assert modes.startswith("+")
        assert results["bot"] == (True, True)
        assert results["latest"] == [("JOIN", "Probe", ""), ("JOIN", "alice", ""),
                                     ("PRIVMSG", "alice", "hello"),
                                     ("PRIVMSG", "alice", "probe")]
        seen = results["seen"]
        assert (seen.nick, seen.kind, seen.channel, seen.text) == ("alice", "PRIVMSG", "#room",
                                                                   "hello")
        assert results["count"] == 1  # "probe", said after "hello"
        assert results["persistent"] is False
        assert results["missing"] == (None, None)
        assert results["parted"] == (True, ())
        assert (await alice.expect("PART")).source.startswith("Probe!")


async def test_start_soon_before_start_is_refused(plugin_server: Any) -> None:
    async with plugin_server({"probe": PROBE}) as h:
        runner = h.runner
        runner._nursery = None  # as before the service started
        with pytest.raises(RuntimeError, match="once the server runs"):
            runner.plugins["probe"].api.start_soon(lambda: None)
