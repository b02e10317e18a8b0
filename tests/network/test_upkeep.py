"""Real nodes publish how far they have applied each other's events; the event table
is pruned of what every live node applied, never of what a lagging one still needs;
``network status`` shows the lag."""

from __future__ import annotations

import signal
from pathlib import Path

import trio

from ircish.network.db import connect
from tests.network.nodes import eventually, network, two_nodes_in
from tests.server.test_process import _run

RETENTION_NOW = "event_retention_seconds = 0\n"


async def _query(url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    def run() -> list[tuple[object, ...]]:
        conn = connect(url, True)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    return await trio.to_thread.run_sync(run)


async def _lines_kept(url: str, first: int, last: int) -> list[int]:
    rows = await _query(url, "SELECT payload FROM network_events WHERE origin = 'n1'"
                             " AND payload LIKE '%%line %%'")
    kept = []
    for (payload,) in rows:
        for i in range(first, last):
            if f'"line {i}"' in str(payload):
                kept.append(i)
    return sorted(kept)


async def test_pruning_keeps_what_a_lagging_node_needs(tmp_path: Path, postgres_url: str
                                                       ) -> None:
    async with network(tmp_path) as net:
        n1, n2 = net.add("n1", RETENTION_NOW), net.add("n2", RETENTION_NOW)
        n1, n2, alice, bob = await two_nodes_in(net, nodes=(n1, n2))
        for i in range(20):
            await alice.send(f"PRIVMSG #x :line {i}")
        for i in range(20):
            assert (await bob.expect("PRIVMSG", timeout=15)).params[1] == f"line {i}"

        async def all_pruned() -> bool:
            return await _lines_kept(net.url, 0, 20) == []

        # n2 applied them and the retention is 0: they go (n1's upkeep, about a second).
        await eventually(all_pruned, timeout=20)
        applied = await _query(net.url, "SELECT seq FROM network_positions"
                                        " WHERE node_id = 'n2' AND origin = 'n1'")
        assert applied and applied[0][0] > 0
        # n2 stops reading (paused, well within its lease): n1 goes on pruning, but
        # nothing n2 has not applied yet.
        n2.signal_group(signal.SIGSTOP)
        try:
            for i in range(20, 40):
                await alice.send(f"PRIVMSG #x :line {i}")
            await trio.sleep(3)  # three of n1's upkeep rounds
            assert await _lines_kept(net.url, 20, 40) == list(range(20, 40))
        finally:
            n2.signal_group(signal.SIGCONT)
        for i in range(20, 40):
            assert (await bob.expect("PRIVMSG", timeout=15)).params[1] == f"line {i}"

        async def pruned_again() -> bool:
            return await _lines_kept(net.url, 20, 40) == []

        await eventually(pruned_again, timeout=20)
        status = await trio.to_thread.run_sync(
            lambda: _run(["--config", str(n1.config), "network", "status"]))
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        at = lines.index("replication lag (as each node last reported it):")
        lags = {tuple(line.split()[:2]): line.split() for line in lines[at + 2:]}
        # n1 has no user of n2 to read but reads n2's sequence all the same.
        assert set(lags) == {("n1", "n2"), ("n2", "n1")}, status.stdout
        n2_on_n1 = lags["n2", "n1"]
        assert n2_on_n1[2] == n2_on_n1[3] and n2_on_n1[4] == "0", status.stdout
