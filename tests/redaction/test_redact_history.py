"""A redacted message leaves the stored history (the worker deletes it)."""

from __future__ import annotations

from ircish.redaction.feature import CAP
from tests.history.conftest import with_history
from tests.ircclient import RawClient
from tests.redaction.test_redact import sent

CAPS = ["message-tags", "echo-message", "batch", "server-time", "draft/chathistory", CAP]


async def history_texts(client: RawClient, target: str) -> list[str]:
    await client.send(f"CHATHISTORY LATEST {target} * 10")
    start = len(client.seen)
    await client.expect(lambda m: m.command == "BATCH" and m.params[0][0] == "-")
    lines = client.seen[start:]
    return [m.params[1] for m in lines if m.command == "PRIVMSG" and "batch" in m.tags]


async def test_chathistory_no_longer_returns_a_redacted_message(make_server) -> None:
    async with make_server(with_history()) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", CAPS)
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", CAPS)
        for c in (alice, bob):
            await c.send("JOIN #room")
            await c.expect("366")
        await sent(alice, "PRIVMSG #room :keep me")
        gone = await sent(alice, "PRIVMSG #room :remove me")
        assert await history_texts(bob, "#room") == ["keep me", "remove me"]
        await alice.send(f"REDACT #room {gone}")
        await bob.expect("REDACT")
        assert await history_texts(bob, "#room") == ["keep me"]
        # Private history too, keyed by the two nicks.
        await sent(alice, "PRIVMSG bob :dm kept")
        private = await sent(alice, "PRIVMSG bob :dm gone")
        await alice.send(f"REDACT bob {private}")
        await alice.expect("REDACT")
        assert await history_texts(alice, "bob") == ["dm kept"]
