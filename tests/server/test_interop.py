"""A third-party IRC client library (PyPI ``irc``) talks to the server."""

from __future__ import annotations

import time
from typing import Any

import irc.client
import trio


def _run_two_clients(port: int) -> dict[str, Any]:
    reactor = irc.client.Reactor()
    seen: dict[str, Any] = {"pubmsg": [], "privmsg": [], "names": [], "join": [], "nick": []}
    alice = reactor.server().connect("127.0.0.1", port, "alice", ircname="Alice Lib")
    bob = reactor.server().connect("127.0.0.1", port, "bob", ircname="Bob Lib")

    ready: set[str] = set()

    def join_bob_when_ready() -> None:
        # Bob joins only once alice is in, so alice sees everything bob does.
        if ready == {"bob-welcomed", "alice-joined"}:
            bob.join("#interop")

    def on_welcome(conn: Any, event: Any) -> None:
        if conn is alice:
            conn.join("#interop")
        else:
            ready.add("bob-welcomed")
            join_bob_when_ready()

    def on_join(conn: Any, event: Any) -> None:
        seen["join"].append((conn.get_nickname(), event.source.nick))
        if conn is alice and event.source.nick == "alice":
            ready.add("alice-joined")
            join_bob_when_ready()
        if conn is bob and event.source.nick == "bob":
            # Private first: alice changes nick as soon as she sees the public one.
            conn.privmsg("alice", "a private word")
            conn.privmsg("#interop", "hello from bob")

    def on_pubmsg(conn: Any, event: Any) -> None:
        seen["pubmsg"].append((conn.get_nickname(), event.source.nick, event.arguments[0]))
        if conn is alice:
            conn.nick("alice2")

    def on_privmsg(conn: Any, event: Any) -> None:
        seen["privmsg"].append((conn.get_nickname(), event.source.nick, event.arguments[0]))

    def on_namreply(conn: Any, event: Any) -> None:
        seen["names"].append((conn.get_nickname(), event.arguments[-1]))

    def on_nick(conn: Any, event: Any) -> None:
        seen["nick"].append((conn.get_nickname(), event.source.nick, event.target))

    reactor.add_global_handler("welcome", on_welcome)
    reactor.add_global_handler("join", on_join)
    reactor.add_global_handler("pubmsg", on_pubmsg)
    reactor.add_global_handler("privmsg", on_privmsg)
    reactor.add_global_handler("namreply", on_namreply)
    reactor.add_global_handler("nick", on_nick)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen["nick"]) < 2:
        reactor.process_once(0.05)
    alice.disconnect("done")
    bob.disconnect("done")
    return seen


async def test_irc_library_clients_chat(make_server) -> None:
    async with make_server() as srv:
        seen = await trio.to_thread.run_sync(_run_two_clients, srv.port)
    assert ("alice", "bob", "hello from bob") in seen["pubmsg"]
    assert ("alice", "bob", "a private word") in seen["privmsg"]
    assert any(nick == "bob" and "bob" in names.split() for nick, names in seen["names"])
    # Both see the nick change, and the library tracked its own new nick.
    assert ("alice2", "alice", "alice2") in seen["nick"]
    assert ("bob", "alice", "alice2") in seen["nick"]
