"""Several real nodes on one PostgreSQL: what one node's users do, the others' see."""

from __future__ import annotations

from pathlib import Path

from tests.ircclient import RawClient
from tests.network.nodes import eventually, network

CAPS = ["message-tags", "server-time", "echo-message"]


async def _names(client: RawClient, channel: str) -> set[str]:
    await client.send(f"NAMES {channel}")
    lines = await client.collect_until("366")
    return {n for m in lines if m.command == "353" for n in m.params[-1].split()}


def _same_line(a, b) -> None:  # type: ignore[no-untyped-def]
    assert a.command == b.command and a.params == b.params and a.source == b.source
    assert a.tags["msgid"] == b.tags["msgid"] and a.tags["time"] == b.tags["time"]


async def test_two_nodes_are_one_network(tmp_path: Path, postgres_url: str) -> None:
    async with network(tmp_path) as net:
        n1, n2 = net.add("n1"), net.add("n2")
        await net.start(n1)
        alice = await n1.client("alice", CAPS)
        await alice.send("JOIN #x", "TOPIC #x :before n2")
        await alice.expect("TOPIC")
        # n2 starts later: it learns alice, #x and its topic from the tables.
        await net.start(n2)
        bob = await n2.client("bob", [*CAPS, "batch", "draft/chathistory"])
        await bob.send("JOIN #x")
        joined = await bob.collect_until("366")
        assert any(m.command == "332" and m.params[-1] == "before n2" for m in joined)
        assert {"@alice", "bob"} <= {n for m in joined if m.command == "353"
                                     for n in m.params[-1].split()}
        # alice sees bob's JOIN as n2's members did: same msgid and time.
        bob_join = next(m for m in joined if m.command == "JOIN")
        _same_line(await alice.expect("JOIN"), bob_join)

        said = []
        for verb in ("PRIVMSG", "NOTICE"):
            await alice.send(f"{verb} #x :hello from n1")
            echo = await alice.expect(verb)
            _same_line(await bob.expect(verb), echo)
            said.append(echo)

        # n1 stored them in the shared history: n2 answers CHATHISTORY with them.
        async def n2_has_history() -> bool:
            await bob.send("CHATHISTORY LATEST #x * 10")
            batch = await bob.collect_until("BATCH")
            end = await bob.collect_until("BATCH")
            lines = [m for m in batch + end if m.command in ("PRIVMSG", "NOTICE")]
            return [(m.tags["msgid"], m.tags["time"]) for m in lines] == [
                (m.tags["msgid"], m.tags["time"]) for m in said]

        await eventually(n2_has_history)
        await alice.send("MODE #x +o bob")
        _same_line(await bob.expect("MODE"), await alice.expect("MODE"))
        await bob.send("TOPIC #x :set on n2")
        _same_line(await alice.expect("TOPIC"), await bob.expect("TOPIC"))
        await bob.send("MODE #x -o+v bob bob")
        _same_line(await alice.expect("MODE"), await bob.expect("MODE"))
        assert await _names(alice, "#x") == {"@alice", "+bob"} == await _names(bob, "#x")

        # WHOIS and private messages across nodes.
        await bob.send("WHOIS alice")
        whois = await bob.collect_until("318")
        user = next(m for m in whois if m.command == "311")
        assert user.params[1:4] == ["alice", "~alice", "127.0.0.1"]
        assert next(m for m in whois if m.command == "319").params[-1] == "@#x"
        await bob.send("PRIVMSG alice :just you")
        echo = await bob.expect("PRIVMSG")
        _same_line(await alice.expect("PRIVMSG"), echo)

        # A nick n1 holds is refused on n2, in any case; a free one is taken everywhere.
        await bob.send("NICK ALICE")
        refused = await bob.expect("433")
        assert refused.params[1] == "ALICE"
        await alice.send("NICK carol")
        _same_line(await bob.expect("NICK"), await alice.expect("NICK"))
        await bob.send("NICK alice")
        assert (await bob.expect("NICK")).params == ["alice"]
        await alice.expect(lambda m: m.command == "NICK" and m.params == ["alice"])

        # KICK of n2's user by n1's op, then a PART and a QUIT.
        await alice.send("KICK #x alice :out")
        _same_line(await bob.expect("KICK"), await alice.expect("KICK"))
        assert await _names(alice, "#x") == {"@carol"}
        await bob.send("JOIN #x")
        await alice.expect("JOIN")
        await bob.send("PART #x :bye")
        _same_line(await alice.expect("PART"), await bob.expect("PART"))
        await bob.send("JOIN #x")
        await alice.expect("JOIN")
        await bob.send("QUIT :gone")
        quit_line = await alice.expect("QUIT")
        assert quit_line.params == ["Quit: gone"] and quit_line.source.startswith("alice!")

        async def n2_user_gone() -> bool:
            return await _names(alice, "#x") == {"@carol"}

        await eventually(n2_user_gone)
        # The nick is free again, on either node.
        again = await n1.client("alice")
        assert again.nick == "alice"
