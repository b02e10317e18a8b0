"""Every event hook fires with the right named arguments over real connections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.hooks.conftest import wait_until

RECORDER = '''
from ircish.hooks import hookimpl

calls = []

def record(name, **kwargs):
    kwargs.pop("api")
    calls.append((name, kwargs))

@hookimpl
def on_server_start(api):
    record("on_server_start", api=api)

@hookimpl
def on_server_stop(api):
    record("on_server_stop", api=api)

@hookimpl
def on_welcome(api, nick, source, account, first_client, time):
    record("on_welcome", **locals())

@hookimpl
def on_join(api, nick, source, account, channel, msgid, time, from_bot):
    record("on_join", **locals())

@hookimpl
def on_leave(api, nick, source, channel, kind, reason, by, msgid, time, from_bot):
    record("on_leave", **locals())

@hookimpl
def on_message(api, nick, source, account, command, target, is_channel, text, msgid, tags,
               time, from_bot):
    record("on_message", **locals())

@hookimpl
def on_nick(api, old, new, source, channels, msgid, time):
    record("on_nick", **locals())

@hookimpl
def on_topic(api, nick, source, channel, topic, msgid, time):
    record("on_topic", **locals())
'''

# A plugin takes only the arguments it needs.
PARTIAL = '''
from ircish.hooks import hookimpl

seen = []

@hookimpl
def on_message(text):
    seen.append(text)
'''


def calls(module: Any, hook: str) -> list[dict[str, Any]]:
    return [kwargs for name, kwargs in module.calls if name == hook]


async def test_every_event_hook_fires_with_its_arguments(plugin_server: Any) -> None:
    async with plugin_server({"rec": RECORDER, "partial": PARTIAL}) as h:
        rec = h.module("rec")
        assert calls(rec, "on_server_start") == [{}]

        alice = await h.client("alice", caps=["message-tags"])
        welcome = (await wait_until(lambda: calls(rec, "on_welcome")))[0]
        assert welcome["nick"] == "alice" and welcome["first_client"] is True
        assert welcome["source"] == "alice!~alice@127.0.0.1" and welcome["account"] is None
        assert isinstance(welcome["time"], datetime)
        bob = await h.client("bob")
        await wait_until(lambda: len(calls(rec, "on_welcome")) == 2)
        assert calls(rec, "on_welcome")[1]["first_client"] is False

        await alice.send("JOIN #room")
        join_line = await alice.expect("JOIN")
        join = (await wait_until(lambda: calls(rec, "on_join")))[0]
        assert join["nick"] == "alice" and join["channel"] == "#room"
        assert join["msgid"] == join_line.tags["msgid"] and join["from_bot"] is False
        await bob.send("JOIN #room")
        await bob.expect("366")

        await alice.send("@+draft/react=x PRIVMSG #room :hello room")
        await bob.expect("PRIVMSG")
        await alice.send("PRIVMSG bob :psst")
        await bob.expect("PRIVMSG")
        messages = await wait_until(lambda: len(calls(rec, "on_message")) == 2
                                    and calls(rec, "on_message"))
        # Plain def hooks run side by side in the plugin's threads: by kind, not order.
        room, private = sorted(messages, key=lambda m: not m["is_channel"])
        assert room["target"] == "#room" and room["is_channel"] is True
        assert room["text"] == "hello room" and room["command"] == "PRIVMSG"
        assert room["tags"] == {"+draft/react": "x"} and room["msgid"]
        assert private["target"] == "bob" and private["is_channel"] is False
        assert private["text"] == "psst" and private["nick"] == "alice"
        await wait_until(lambda: sorted(h.module("partial").seen) == ["hello room", "psst"])

        await alice.send("TOPIC #room :new topic")
        await alice.expect("TOPIC")
        topic = (await wait_until(lambda: calls(rec, "on_topic")))[0]
        assert topic["channel"] == "#room" and topic["topic"] == "new topic"
        assert topic["nick"] == "alice"

        await bob.send("NICK robert")
        await bob.expect("NICK")
        nick = (await wait_until(lambda: calls(rec, "on_nick")))[0]
        assert nick["old"] == "bob" and nick["new"] == "robert"
        assert nick["channels"] == ("#room",) and nick["source"].startswith("bob!")

        await alice.send("KICK #room robert :behave")
        await bob.expect("KICK")
        await bob.send("JOIN #room")
        await bob.expect("366")
        await bob.send("PART #room :later")
        await bob.expect("PART")
        await bob.send("JOIN #room")
        await bob.expect("366")
        await bob.send("QUIT :gone")
        leaves = await wait_until(lambda: len(calls(rec, "on_leave")) == 3
                                  and calls(rec, "on_leave"))
        # Plain def hooks run in the plugin's threads, side by side: by kind, not order.
        kick, part, quit_ = sorted(leaves, key=lambda leave: ["kick", "part", "quit"].index(
            leave["kind"]))
        assert (kick["kind"], kick["nick"], kick["reason"]) == ("kick", "robert", "behave")
        assert kick["by"].startswith("alice!")
        assert (part["kind"], part["reason"], part["by"]) == ("part", "later", None)
        assert (quit_["kind"], quit_["reason"], quit_["channel"]) == ("quit", "Quit: gone",
                                                                     "#room")
    assert calls(rec, "on_server_stop") == [{}]
