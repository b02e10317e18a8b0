"""A node that dies, or is paused past its lease: the others remove its users, and a
paused node that wakes up finds itself fenced, closes its clients and joins again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import trio

from ircish.network.db import connect
from tests.ircclient import RawClient
from tests.network.nodes import child_of, eventually, network, two_nodes_in
from tests.network.test_nodes import CAPS, _names
from tests.server.test_process import _run

LEASE_S = 3
RESTART_LEASE_S = 45


async def test_a_killed_node_quits_its_users_within_the_lease(
    tmp_path: Path, postgres_url: str
) -> None:
    async with network(tmp_path, lease_s=LEASE_S) as net:
        n1, n2, alice, bob = await two_nodes_in(net, caps=CAPS)
        await alice.send("PRIVMSG #x :still here")
        await bob.expect("PRIVMSG")
        n1.signal_group(signal.SIGKILL)
        # Within the lease and one renewal period, with room for a loaded machine.
        quit_line = await bob.expect("QUIT", timeout=3 * LEASE_S + 5)
        assert quit_line.source.startswith("alice!")
        assert quit_line.params == ["n1 left the network"]
        assert "msgid" in quit_line.tags and "time" in quit_line.tags
        # alice made #x and bob joined it as a plain member (``two_nodes_in``): only he
        # is left, and nobody hands him her op.
        assert await _names(bob, "#x") == {"bob"}
        # The nick is free: someone on n2 takes it.
        again = await n2.client("alice")
        assert again.nick == "alice"
        # The operator's view: n1 dead with no users, n2 live with bob and alice.
        result = await trio.to_thread.run_sync(
            lambda: _run(["--config", str(n2.config), "network", "status"]))
        assert result.returncode == 0, result.stderr
        nodes = result.stdout.split("\n\n", 1)[0]  # the lag follows a blank line
        rows = {line.split()[0]: line.split() for line in nodes.splitlines()[1:]}
        assert rows["n1"][1:3] == ["dead", "2"] and rows["n1"][5] == "0"
        assert rows["n2"][1:3] == ["live", "1"] and rows["n2"][5] == "2"


async def test_a_node_paused_past_its_lease_is_fenced(tmp_path: Path, postgres_url: str) -> None:
    async with network(tmp_path, lease_s=LEASE_S) as net:
        n1, _, alice, bob = await two_nodes_in(net, caps=CAPS)
        n1.signal_group(signal.SIGSTOP)
        try:
            quit_line = await bob.expect("QUIT", timeout=3 * LEASE_S + 5)
            assert quit_line.params == ["n1 left the network"]
            # Sent while n1 sleeps: it reads this after waking, when it is dead already.
            await alice.send("PRIVMSG #x :from beyond")
        finally:
            n1.signal_group(signal.SIGCONT)
        closing = await alice.read_until_closed(timeout=3 * LEASE_S + 5)
        assert closing and closing[-1].command == "ERROR"
        assert "left the network" in closing[-1].params[0]
        assert not [m for m in await bob.nothing_within(1.0) if m.command == "PRIVMSG"]
        # n1 joins again with a new epoch: its new users are everyone's.
        assert n1.proc is not None and n1.proc.poll() is None

        async def registers() -> bool:
            client = await RawClient.connect(n1.port)
            await client.send("NICK dave", "USER dave 0 * :Dave")
            # 433 "cannot be claimed now" until n1 is back in the network.
            if (await client.expect(lambda m: m.command in ("001", "433"))).command == "001":
                n1.clients.append(client)
                return True
            await client.aclose()
            await trio.sleep(0.3)
            return False

        await eventually(registers, timeout=20)

        async def seen_on_n2() -> bool:
            await bob.send("WHOIS dave")
            return (await bob.expect(lambda m: m.command in ("311", "401"))).command == "311"

        await eventually(seen_on_n2)
        conn = await trio.to_thread.run_sync(connect, net.url, True)
        try:
            cur = conn.execute("SELECT count(*) FROM network_events WHERE payload LIKE %s",
                               ("%from beyond%",))
            assert cur.fetchone() == (0,)
            row = conn.execute("SELECT alive, epoch FROM network_nodes WHERE node_id = 'n1'"
                               ).fetchone()
            assert row == (1, 3)
        finally:
            conn.close()


async def _terminate(url: str, application_name: str) -> int:
    def run() -> int:
        conn = connect(url, True)
        try:
            # This test's database only: other runs may share the cluster, with the
            # same node names.
            rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE application_name = %s AND datname = current_database()",
                                (application_name,)).fetchall()
            return len(rows)
        finally:
            conn.close()

    return await trio.to_thread.run_sync(run)


async def test_lost_database_connections_lose_and_double_no_line(
    tmp_path: Path, postgres_url: str
) -> None:
    """n2's LISTEN connection and n1's writer connection are terminated mid-traffic:
    n2 catches up from the table, n1 retries its batch; every line arrives once, in order."""
    async with network(tmp_path) as net:
        n1, n2, alice, bob = await two_nodes_in(net, caps=CAPS)
        count = 120
        for i in range(count):
            await alice.send(f"PRIVMSG #x :line {i}")
            if i == 40:
                assert await _terminate(net.url, "ircish-network n2 listen") == 1
            if i == 80:
                assert await _terminate(net.url, "ircish-network n1 w") == 1
        got = []
        while len(got) < count:
            line = await bob.expect("PRIVMSG", timeout=30)
            got.append(line.params[1])
        assert got == [f"line {i}" for i in range(count)]
        assert not [m for m in await bob.nothing_within(1.5) if m.command == "PRIVMSG"]
        await n2.logged("LISTEN connection failed")
        await n1.logged("database fault, retrying")


async def test_a_dead_network_worker_makes_its_node_join_again(
    tmp_path: Path, postgres_url: str
) -> None:
    # A lease longer than a loaded machine takes to start the new worker: the QUIT
    # must come from the new epoch ("n1 restarted"), not from the lease running out
    # ("n1 left the network"), and the reason tells which.
    async with network(tmp_path, lease_s=RESTART_LEASE_S) as net:
        n1, _, alice, bob = await two_nodes_in(net, caps=CAPS)
        assert n1.proc is not None
        os.kill(child_of(n1.proc.pid, b"ircish.network.worker"), signal.SIGKILL)
        # The node cannot vouch for its users any more: it closes them, and its new
        # epoch QUITs them everywhere at once (no wait for the lease).
        closing = await alice.read_until_closed(timeout=30)
        assert closing[-1].command == "ERROR"
        quit_line = await bob.expect("QUIT", timeout=RESTART_LEASE_S - 5)
        assert quit_line.source.startswith("alice!") and quit_line.params == ["n1 restarted"]
        again = await n1.client("alice")
        await again.send("JOIN #x")
        await bob.expect(lambda m: m.command == "JOIN" and m.source.startswith("alice!"))
