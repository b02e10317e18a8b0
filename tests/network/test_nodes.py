"""Several real nodes on one PostgreSQL: what one node's users do, the others' see."""

from __future__ import annotations

from pathlib import Path

import trio

from ircish.protocol.casemap import casefold
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


async def test_nick_race_has_one_winner_per_nick(tmp_path: Path, postgres_url: str) -> None:
    """Clients on three nodes claim the same five nicks (rfc1459 case variants) at once,
    round after round: one holder per nick, the rest 433, every node agreeing.
    (Smaller than the issue's 60 clients x 50 rounds: 12 clients x 8 rounds.)"""
    async with network(tmp_path) as net:
        nodes = [net.add(f"n{i}") for i in (1, 2, 3)]
        await net.start(nodes[0])
        await net.start(*nodes[1:])
        # (client, its username, which stays when the nick changes)
        clients: list[tuple[RawClient, str]] = []
        for i, node in enumerate(nodes):
            for j in range(4):
                clients.append((await node.client(f"u{i}x{j}"), f"~u{i}x{j}"))
        askers = [node.clients[0] for node in nodes]
        wanted = ["Race[a]", "race{b}", "RACE|c", "rAce^d", "race\\e"]
        variants = [str.lower, str.upper, lambda s: s]
        for round_no in range(8):
            tries = [(client, username,
                      variants[(k + round_no) % len(variants)](wanted[k % len(wanted)]))
                     for k, (client, username) in enumerate(clients)]
            async with trio.open_nursery() as nursery:
                for client, _, nick in tries:
                    nursery.start_soon(client.send, f"NICK {nick}")
            holders: dict[str, list[tuple[RawClient, str]]] = {}
            for client, username, nick in tries:
                answer = await client.expect(lambda m: m.command in ("NICK", "433"))
                if answer.command == "NICK":
                    holders.setdefault(casefold(nick), []).append((client, username))
            assert sorted(holders) == sorted(casefold(n) for n in wanted), holders
            assert all(len(held) == 1 for held in holders.values()), holders
            for key, ((_, username),) in holders.items():
                for asker in askers:

                    async def agrees(asker: RawClient = asker, key: str = key,
                                     username: str = username) -> bool:
                        await asker.send(f"WHOIS {key}")
                        reply = await asker.expect(lambda m: m.command in ("311", "401"))
                        await asker.expect("318")
                        return reply.command == "311" and reply.params[2] == username

                    await eventually(agrees)
            # The holders give the nicks back for the next round.
            for k, (client, _) in enumerate(clients):
                if any(client is held[0][0] for held in holders.values()):
                    await client.send(f"NICK back{round_no}x{k}")
                    await client.expect("NICK")
        # Afterwards, one channel across the three nodes: each line reaches all.
        for client, _ in clients:
            await client.send("JOIN #all")
            await client.expect("366")
        speaker = clients[-1][0]

        async def everyone_is_in() -> bool:
            return len(await _names(speaker, "#all")) == len(clients)

        await eventually(everyone_is_in)
        await speaker.send("PRIVMSG #all :to all three nodes")
        for client, _ in clients[:-1]:
            got = await client.expect(lambda m: m.command == "PRIVMSG")
            assert got.params == ["#all", "to all three nodes"]
