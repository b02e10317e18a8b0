"""PostgreSQL restarted while clients on two nodes send numbered lines (a restart
shorter than the lease; a longer one fences the nodes, see test_failure): no line is
lost, doubled or reordered per sender; meanwhile local chat goes on, and nick
changes, registration and cross-node delivery wait, with a NOTICE to the clients,
and resume in order once the database is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from ircish.network.outage import CLAIM_WAITS, DOWN, UP
from tests.ircclient import RawClient
from tests.network.cluster import Cluster
from tests.network.nodes import Network, eventually
from tests.network.test_nodes import _names

# Long enough for the restart (about 2-4 s here) and the retries after it.
LEASE_S = 20
COUNT = 90  # lines per sender: a third before, during and after the outage


@asynccontextmanager
async def _private_network(folder: Path) -> AsyncIterator[tuple[Cluster, Network]]:
    cluster = await trio.to_thread.run_sync(Cluster)
    net = Network(cluster.url, folder, LEASE_S)
    try:
        yield cluster, net
    finally:
        for node in net.nodes:
            for client in node.clients:
                with trio.move_on_after(1):
                    await client.aclose()
        await trio.to_thread.run_sync(net.stop_all)
        await trio.to_thread.run_sync(cluster.destroy)


def _texts(client: RawClient, sender: str) -> list[str]:
    return [m.params[1] for m in client.seen
            if m.command == "PRIVMSG" and m.source.startswith(f"{sender}!")]


def _notices(client: RawClient, text: str) -> int:
    return sum(1 for m in client.seen if m.command == "NOTICE" and text in m.params[-1])


async def _send_lines(client: RawClient, first: int, last: int) -> None:
    for i in range(first, last):
        await client.send(f"PRIVMSG #x :{client.nick} {i}")
        await trio.sleep(0.01)


async def _read_until(client: RawClient, sender: str, count: int, timeout: float = 30) -> None:
    with trio.fail_after(timeout):
        while len(_texts(client, sender)) < count:
            await client.expect(lambda m: m.command == "PRIVMSG")


async def test_a_postgres_restart_loses_doubles_and_reorders_nothing(tmp_path: Path) -> None:
    async with _private_network(tmp_path) as (cluster, net):
        n1, n2 = net.add("n1"), net.add("n2")
        await net.start(n1)
        await net.start(n2)
        alice, carol, erin = [await n1.client(n) for n in ("alice", "carol", "erin")]
        bob, dave = await n2.client("bob"), await n2.client("dave")
        everyone = [alice, carol, erin, bob, dave]
        for client in everyone:
            await client.send("JOIN #x")
            await client.expect("366")

        async def all_in() -> bool:
            return len(await _names(alice, "#x")) == 5 and len(await _names(bob, "#x")) == 5

        await eventually(all_in)
        third = COUNT // 3
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_lines, alice, 0, third)
            nursery.start_soon(_send_lines, bob, 0, third)
        await _read_until(dave, "bob", third)
        await _read_until(carol, "alice", third)

        await trio.to_thread.run_sync(cluster.stop_server)
        # The node's clients are told (the LISTEN connection notices at once).
        for client in (alice, bob):
            await client.expect(lambda m: m.command == "NOTICE" and DOWN in m.params[-1])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_lines, alice, third, 2 * third)
            nursery.start_soon(_send_lines, bob, third, 2 * third)
        # Local chat goes on while the database is down...
        await _read_until(carol, "alice", 2 * third)
        await _read_until(dave, "bob", 2 * third)
        # ...a nick change and a registration wait, told why...
        await erin.send("NICK erin2")
        await erin.expect(lambda m: m.command == "NOTICE" and CLAIM_WAITS in m.params[-1])
        late = await RawClient.connect(n1.port)
        n1.clients.append(late)
        await late.send("NICK late", "USER late 0 * :late")
        await late.expect(lambda m: m.command == "NOTICE" and CLAIM_WAITS in m.params[-1])
        # ...and nothing crossed between the nodes meanwhile.
        assert _texts(bob, "alice") == _texts(dave, "alice")
        assert len(_texts(dave, "alice")) <= third
        assert not [m for m in late.seen if m.command == "001"]
        await trio.to_thread.run_sync(cluster.start_server)

        for client in (alice, bob):
            await client.expect(lambda m: m.command == "NOTICE" and UP in m.params[-1],
                                timeout=30)
        assert (await erin.expect("NICK", timeout=30)).params[0] == "erin2"
        assert (await late.expect("001", timeout=30)).params[0] == "late"
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_send_lines, alice, 2 * third, COUNT)
            nursery.start_soon(_send_lines, bob, 2 * third, COUNT)
        for reader, sender in ((bob, "alice"), (dave, "alice"), (alice, "bob"),
                               (carol, "bob"), (carol, "alice"), (dave, "bob")):
            await _read_until(reader, sender, COUNT)
        await bob.nothing_within(1.0)
        await alice.nothing_within(0.2)
        for reader, sender in ((bob, "alice"), (dave, "alice"), (alice, "bob"),
                               (carol, "bob")):
            assert _texts(reader, sender) == [f"{sender} {i}" for i in range(COUNT)], reader.nick
        # One NOTICE each way per client, not one per retry.
        for client in (alice, carol, bob, dave):
            assert (_notices(client, DOWN), _notices(client, UP)) == (1, 1), client.nick
        assert "database fault, retrying" in n1.log_text() + n2.log_text()
