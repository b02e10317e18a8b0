"""Plugins hear of a RENAME (on_rename), and their memory history follows the channel."""

from __future__ import annotations

from typing import Any

from ircish.core import events
from ircish.hooks.history import MemoryHistory
from tests.hooks.conftest import wait_until

RECORDER = '''
from ircish.hooks import hookimpl

calls = []

@hookimpl
def on_rename(nick, source, old, new, reason, msgid, time):
    calls.append(dict(nick=nick, old=old, new=new, reason=reason, msgid=msgid))
'''


async def test_on_rename_fires_with_its_arguments(plugin_server: Any) -> None:
    async with plugin_server({"rec": RECORDER}) as h:
        rec = h.module("rec")
        op = await h.client("op", caps=["draft/channel-rename", "message-tags"])
        await op.send("JOIN #old")
        await op.expect("366")
        await op.send("RENAME #old #new :why")
        line = await op.expect("RENAME")
        (call,) = await wait_until(lambda: rec.calls)
        assert call == {"nick": "op", "old": "#old", "new": "#new", "reason": "why",
                        "msgid": line.tags["msgid"]}


def test_memory_history_moves_to_the_new_name() -> None:
    live = {"#old"}
    memory = MemoryHistory(live.__contains__)
    memory.record(events.MessageEvent("m1", 1, "PRIVMSG", "a!u@h", "a", None, "#old", True,
                                      "said"))
    live = {"#new"}
    memory._exists = live.__contains__
    memory.record(events.RenameEvent("r1", 2, "a!u@h", "a", "#old", "#NEW"))
    assert [line.text for line in memory.latest("#new", 10)] == ["said"]
    assert memory.latest("#old", 10) == []
