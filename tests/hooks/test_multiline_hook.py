"""Plugins see a draft/multiline message once: one on_message, its lines joined by \\n."""

from __future__ import annotations

from typing import Any

from tests.hooks.conftest import wait_until

RECORDER = '''
from ircish.hooks import hookimpl

seen = []

@hookimpl
def on_message(text, msgid, target):
    seen.append((text, msgid, target))
'''


async def test_a_multiline_message_is_one_on_message_with_line_feeds(
        plugin_server: Any) -> None:
    async with plugin_server({"rec": RECORDER}) as h:
        rec = h.module("rec")
        caps = ["batch", "message-tags", "echo-message", "draft/multiline"]
        alice = await h.client("alice", caps=caps)
        await alice.send("JOIN #c")
        await alice.expect("366")
        await alice.send("BATCH +b1 draft/multiline #c", "@batch=b1 PRIVMSG #c :first",
                         "@batch=b1 PRIVMSG #c :second ",
                         "@batch=b1;draft/multiline-concat PRIVMSG #c :half", "BATCH -b1")
        start = await alice.expect("BATCH")
        seen = await wait_until(lambda: rec.seen)
        await alice.send("PING sync")
        await alice.expect("PONG")
        assert seen == [("first\nsecond half", start.tags["msgid"], "#c")]
