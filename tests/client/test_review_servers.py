"""The review's findings against ircish in-process: a query's "last read" line after a
restart of the client; /search against the server's soju.im/search."""

from __future__ import annotations

from pathlib import Path

import trio

from ircish.client import search
from ircish.client.commands import run_input
from ircish.client.model import BufferKind
from ircish.testing import start_server
from tests.client.helpers import client_for, wait_for
from tests.ircclient import RawClient


async def test_a_query_shows_where_reading_stopped_after_the_client_restarts(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    from tests.accounts.conftest import accounts_config, registered

    async with start_server(tmp_path, accounts_config()) as server:
        registering = await registered(server.port, "ada", "sesame-open")
        await registering.send("QUIT")
        await registering.read_until_closed()
        login = {"sasl_account": "ada", "sasl_password": "sesame-open"}
        first = client_for(server.port, **login)
        nursery.start_soon(first.connection.run)
        await wait_for(lambda: first.session.registered and first.buffers.get("#lobby"), 15)
        ivan = await RawClient.connect(server.port)
        await ivan.register("ivan")
        await ivan.send("PRIVMSG ada :read this one")
        await wait_for(lambda: first.buffers.get("ivan") is not None)
        query = first.buffers.get("ivan")
        assert query is not None
        lobby = first.buffers.get("#lobby")
        assert lobby is not None
        await wait_for(lambda: query.lines)
        first.buffers.switch_to(query)  # read: MARKREAD ivan timestamp=...
        first.buffers.switch_to(lobby)
        await ivan.nothing_within(0.3)
        await ivan.send("PRIVMSG ada :not read yet")
        await wait_for(lambda: query.unread == 1)
        await ivan.nothing_within(0.3)  # stored meanwhile
        await first.connection.quit("bye")

        again = client_for(server.port, **login)
        nursery.start_soon(again.connection.run)
        await wait_for(lambda: again.buffers.get("ivan") is not None, 15)
        reopened = again.buffers.get("ivan")
        assert reopened is not None and reopened.kind is BufferKind.QUERY
        chat = lambda: [line for line in reopened.lines if line.kind == "message"]  # noqa: E731
        await wait_for(lambda: len(chat()) == 2 and reopened.marker is not None)
        read, unread = chat()
        assert (read.text, unread.text) == ("read this one", "not read yet")
        assert reopened.marker is not None and read.time <= reopened.marker < unread.time
        await again.connection.quit("bye")
        await ivan.aclose()


async def test_search_against_ircish(tmp_path: Path, nursery: trio.Nursery) -> None:
    """/search end to end: the server offers soju.im/search, the client asks, the
    results fill the search window with time, place and sender."""
    from tests.accounts.conftest import accounts_config

    async with start_server(tmp_path, accounts_config()) as server:
        bob = await RawClient.connect(server.port)
        await bob.register("bob")
        await bob.send("JOIN #lobby")
        await bob.expect("366")
        await bob.send("PRIVMSG #lobby :we deploy on friday")
        await bob.send("PRIVMSG #lobby :lunch at noon")
        # Its PONG comes after the server took both lines, which a later history query
        # reads (queued to the store ahead of it); a fixed 0.3 s wait was a guess.
        await bob.send("PING :taken")
        await bob.expect("PONG")
        ada = client_for(server.port)
        nursery.start_soon(ada.connection.run)
        await wait_for(lambda: ada.buffers.get("#lobby") and ada.buffers.get("#lobby").joined)  # type: ignore[union-attr]
        assert search.CAP in ada.session.caps
        assert ada.buffers.current.name == "#lobby"
        ctx = ada.context(lambda reason: None)
        run_input(ctx, "/search deploy")
        await wait_for(lambda: ada.buffers.get(search.SEARCH_BUFFER) is not None)
        window = ada.buffers.get(search.SEARCH_BUFFER)
        assert window is not None and ada.buffers.current is window
        await wait_for(lambda: any(line.text.endswith("found") for line in window.lines))
        results = [line for line in window.lines if line.kind == "message"]
        assert [(r.where, r.nick, r.text) for r in results] == [
            ("#lobby", "bob", "we deploy on friday")
        ]
        assert window.lines[-1].text == "1 message found"

        run_input(ctx, "/search -from bob -in #lobby zebra")
        await wait_for(lambda: window.lines and window.lines[-1].text == "No messages match")
        await ada.connection.quit("bye")
        await bob.aclose()
