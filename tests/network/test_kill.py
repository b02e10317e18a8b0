"""A node killed mid-chat (issue 15): SIGKILL of its process group while 30 clients,
10 on each of three nodes, send numbered lines to one channel.

What must hold afterwards:

- every line a client of a surviving node received is stored in history;
- each sender's stored lines are its first N lines, no gap (a surviving node's
  sender: all of them); every stored line reached every member on the surviving
  nodes exactly once, in each sender's order;
- the dead node's users QUIT on every surviving client within the lease, their
  nicks are free, and their clients, connected again to a surviving node,
  backfill with CHATHISTORY what they missed, without a gap.

Local members get a line before it is committed (as on a single server), so a
line that only the dead node's own clients saw may be in no history: it is not
asked for, for those clients, nor for anyone else.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio

from ircish.network.db import connect
from ircish.protocol import Message
from tests.ircclient import RawClient
from tests.network.nodes import Node, eventually, network
from tests.network.test_nodes import _names

LEASE_S = 3
PER_NODE = 10
INTERVAL_S = 0.25
# The dead node's senders talk faster: more of their lines are in flight at the kill.
DEAD_INTERVAL_S = 0.05
BEFORE_KILL_S = 2.5
AFTER_KILL_S = 2.5
CAPS = ["message-tags", "server-time", "batch", "draft/chathistory"]

Line = tuple[str, int, str]  # sender, number, msgid


def _lines(messages: list[Message]) -> list[tuple[Line, str]]:
    """The channel's numbered lines among ``messages``, with their time tag."""
    out = []
    for m in messages:
        if m.command == "PRIVMSG" and m.params[0] == "#k":
            sender, number = m.params[1].split()
            out.append(((sender, int(number), m.tags["msgid"]), m.tags["time"]))
    return out


async def _stored(url: str) -> list[Line]:
    def run() -> list[Line]:
        conn = connect(url, True)
        try:
            rows = conn.execute("SELECT text, msgid FROM history WHERE target_key = '#k'"
                                " AND kind = 'PRIVMSG' ORDER BY time, id").fetchall()
        finally:
            conn.close()
        return [(text.split()[0], int(text.split()[1]), msgid) for text, msgid in rows]

    return await trio.to_thread.run_sync(run)


async def _speak(nick: str, client: RawClient, stop: trio.Event, sent: dict[str, int],
                 phase: float, interval: float) -> None:
    number = 0
    await trio.sleep(phase)  # the 30 senders spread over the interval, not in step
    try:
        while not stop.is_set():
            await client.send(f"PRIVMSG #k :{nick} {number}")
            number += 1
            sent[nick] = number
            await trio.sleep(interval)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # its node was killed


async def _listen(client: RawClient) -> None:
    await client.nothing_within(3600)  # everything lands in client.seen


async def _backfill(client: RawClient, since: str) -> list[Line]:
    """CHATHISTORY AFTER ``since`` to the end, a page at a time."""
    got: list[Line] = []
    ref = f"timestamp={since}"
    while True:
        await client.send(f"CHATHISTORY AFTER #k {ref} 100")
        start = len(client.seen)
        await client.expect("BATCH", timeout=15)  # the batch opens...
        await client.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("-"),
                            timeout=15)  # ...and closes
        page = [line for line, _ in _lines(client.seen[start:])]
        if not page:
            return got
        got += page
        ref = f"msgid={page[-1][2]}"


def _per_sender(lines: list[Line]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for sender, number, _ in lines:
        out.setdefault(sender, []).append(number)
    return out


async def test_a_node_killed_mid_chat_loses_nothing_the_others_saw(
    tmp_path: Path, postgres_url: str
) -> None:
    async with network(tmp_path, lease_s=LEASE_S) as net:
        nodes = [net.add(f"n{i}") for i in (1, 2, 3)]
        await net.start(nodes[0])
        await net.start(*nodes[1:])
        dead = nodes[2]
        clients: dict[str, tuple[Node, RawClient]] = {}
        for i, node in enumerate(nodes):
            for j in range(PER_NODE):
                nick = f"u{i + 1}x{j}"
                clients[nick] = (node, await node.client(nick, CAPS))
        for _, client in clients.values():
            await client.send("JOIN #k")
            await client.expect("366", timeout=20)

        async def everyone_everywhere() -> bool:
            for node in nodes:
                if len(await _names(node.clients[0], "#k")) != 3 * PER_NODE:
                    return False
            return True

        await eventually(everyone_everywhere, timeout=30)
        start = {nick: len(client.seen) for nick, (_, client) in clients.items()}
        began = datetime.now(UTC)

        survivors = {nick: c for nick, (node, c) in clients.items() if node is not dead}
        gone = sorted(nick for nick, (node, _) in clients.items() if node is dead)
        sent: dict[str, int] = {}
        stop = trio.Event()
        async with trio.open_nursery() as listening:
            for _, client in clients.values():
                listening.start_soon(_listen, client)
            async with trio.open_nursery() as speaking:
                for index, (nick, (node, client)) in enumerate(clients.items()):
                    interval = DEAD_INTERVAL_S if node is dead else INTERVAL_S
                    speaking.start_soon(_speak, nick, client, stop, sent,
                                        interval * index / len(clients), interval)
                await trio.sleep(BEFORE_KILL_S)
                dead.signal_group(signal.SIGKILL)
                killed_at = trio.current_time()

                async def all_quit() -> bool:
                    return all(
                        {m.source.split("!")[0] for m in c.seen if m.command == "QUIT"}
                        >= set(gone) for c in survivors.values())

                # Within the lease and one renewal period, with room for a loaded machine.
                await eventually(all_quit, timeout=3 * LEASE_S + 5)
                quit_after = trio.current_time() - killed_at
                await trio.sleep(max(0.0, AFTER_KILL_S - quit_after))
                stop.set()

            async def quiet() -> bool:
                before = sum(len(c.seen) for c in survivors.values())
                await trio.sleep(1.5)
                return sum(len(c.seen) for c in survivors.values()) == before

            await eventually(quiet, timeout=30)
            listening.cancel_scope.cancel()

        stored = await _stored(net.url)
        by_sender = _per_sender(stored)
        assert len(set(msgid for _, _, msgid in stored)) == len(stored)
        for nick in clients:
            numbers = by_sender.get(nick, [])
            assert sorted(numbers) == list(range(len(numbers))), nick  # a prefix, no gap
            if nick in survivors:
                assert len(numbers) == sent[nick], nick
        assert any(by_sender.get(nick) for nick in gone)  # the dead node's lines are there too
        stored_ids = {msgid for _, _, msgid in stored}

        for nick, client in survivors.items():
            got = [line for line, _ in _lines(client.seen[start[nick]:])]
            assert {msgid for _, _, msgid in got} <= stored_ids, nick
            received = _per_sender(got)
            for sender, numbers in by_sender.items():
                if sender != nick:
                    assert received.get(sender, []) == numbers, (nick, sender)

        # The dead node's users: their nicks are free; connected again to a surviving
        # node, each reads what it missed since the last line it saw.
        for index, nick in enumerate(gone):
            _, old = clients[nick]
            before = [(line, time) for line, time in _lines(old.seen[start[nick]:])
                      if line[2] in stored_ids]
            last = (datetime.fromisoformat(before[-1][1].replace("Z", "+00:00")) if before
                    else began)
            # Lines from other nodes may carry an earlier time than the last one seen.
            since = (last - timedelta(seconds=5)).astimezone(UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            again = await nodes[index % 2].client(nick, CAPS)
            await again.send("JOIN #k")
            await again.expect("366", timeout=20)
            seen = {line for line, _ in before} | set(await _backfill(again, since))
            mine = _per_sender(sorted(seen))
            for sender, numbers in by_sender.items():
                if sender != nick:
                    assert mine.get(sender, []) == numbers, (nick, sender)
