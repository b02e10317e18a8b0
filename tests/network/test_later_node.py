"""A node that starts later learns from the tables what the first slice left out: the
channels' +b/+e/+I lists, users' away messages, real names and hosts, their
channels' creation times and the server each user is on (real processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from ircish.network import db
from ircish.passwords import hash_password
from tests.network.nodes import eventually, network

CAPS = ["message-tags", "server-time", "echo-message"]


def _recorded(url: str) -> tuple[Any, ...] | None:
    with db.connect(url) as conn:
        return conn.execute(
            "SELECT u.away, u.realname, u.host, c.lists, n.server_name FROM network_users u,"
            " network_channels c, network_nodes n WHERE u.nick = 'alice' AND c.key = '#x'"
            " AND n.node_id = 'n1'").fetchone()


async def test_a_later_node_reads_lists_away_and_hosts(tmp_path: Path, postgres_url: str) -> None:
    async with network(tmp_path) as net:
        n1, n2 = net.add("n1"), net.add("n2")
        for node in (n1, n2):
            with node.config.open("a") as config:
                config.write(f'[[opers]]\nname = "op"\npassword_hash = "{hash_password("pw")}"\n')
        await net.start(n1)
        alice = await n1.client("alice", CAPS)
        await alice.send("OPER op pw")
        await alice.expect("381")
        await alice.send("JOIN #x")
        joined = await alice.collect_until("366")
        await alice.send("MODE #x")
        created = (await alice.expect("329")).params[-1]
        await alice.send("MODE #x +beI bad!*@* ok!*@* inv!*@*", "AWAY :lunch",
                         "SETNAME :Alice L", "CHGHOST alice ~al cloak/alice")
        await alice.expect("396")
        assert joined

        async def stored() -> bool:
            row = await trio.to_thread.run_sync(_recorded, net.url)
            return row is not None and row[0] == "lunch" and row[2] == "cloak/alice" \
                and row[3] is not None and row[4] == "n1.test"

        # Committed before n2 starts: n2 learns them from its snapshot, not the stream.
        await eventually(stored)
        await net.start(n2)
        bob = await n2.client("bob", CAPS)
        await bob.send("OPER op pw")  # +e and +I are shown to operators only
        await bob.expect("381")
        lists = {}
        for letter, end in (("b", "368"), ("e", "349"), ("I", "347")):
            await bob.send(f"MODE #x {letter}")
            lines = await bob.collect_until(end)
            lists[letter] = [m.params[2:4] for m in lines[:-1]]
        setter = "alice!~alice@127.0.0.1"  # as the origin kept it: who set it, when
        assert lists == {"b": [["bad!*@*", setter]], "e": [["ok!*@*", setter]],
                         "I": [["inv!*@*", setter]]}
        await bob.send("MODE #x")
        assert (await bob.expect("329")).params[-1] == created
        await bob.send("WHOIS alice")
        whois = {m.command: m.params for m in await bob.collect_until("318")}
        assert whois["311"][2:] == ["~al", "cloak/alice", "*", "Alice L"]
        assert whois["312"][2] == "n1.test"
        assert whois["301"][-1] == "lunch"
        await bob.send("LUSERS")
        lusers = {m.command: m.params for m in await bob.collect_until("266")}
        # Global counts alice (n1's services are n1's own), local ones do not.
        assert lusers["251"][-1].endswith("on 2 servers")
        assert lusers["255"][-1].endswith("clients and 1 servers")
        assert int(lusers["266"][1]) - int(lusers["265"][1]) == 1
        # A ban read from the tables holds on n2: a banned nick cannot join there.
        banned = await n2.client("bad", CAPS)
        await banned.send("JOIN #x")
        assert (await banned.expect("474")).params[1] == "#x"
