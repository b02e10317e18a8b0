"""A client that has left is not kept alive by the server's long-lived tasks: the
outbox's last batch and the housekeeping's last round both held the last connection
they saw (its buffers with it) until the next write or the next connection."""

from __future__ import annotations

import gc
from pathlib import Path

import trio

from ircish.net.connection import Connection
from ircish.testing import start_server
from tests.ircclient import RawClient


def _connections_of(app: object) -> list[Connection]:
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is Connection and o.app is app]


async def test_departed_clients_connections_are_freed(tmp_path: Path) -> None:
    # A registration timeout of 0.4 s makes the housekeeping run every 0.1 s.
    async with start_server(tmp_path, {"limits": {"registration_timeout": 0.4}}) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await alice.send("JOIN #c")
        await alice.expect("366")
        await bob.send("JOIN #c")
        await bob.expect("366")
        await bob.send("PRIVMSG #c :hi")
        await alice.expect("PRIVMSG")
        await trio.sleep(0.3)  # housekeeping rounds with both connected
        assert len(_connections_of(srv.app)) == 2
        for client in (alice, bob):
            await client.send("QUIT :bye")
            await client.expect("ERROR")
            await client.aclose()
        with trio.fail_after(5):
            while srv.app.connections:
                await trio.sleep(0.05)
        await trio.sleep(0.3)  # more rounds, with nobody connected
        assert _connections_of(srv.app) == []
