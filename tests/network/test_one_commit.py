"""A line is stored in history in the same commit that hands it to the other nodes.

Each test stops one of n1's two workers (history, network), has alice on n1 say
something, then kills n1 as a machine dies. With two commits, the line is then
in history that n2 never got (network worker stopped), or n2 got a line that is
in no history (history worker stopped). With one, what n2 got is what is stored.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import trio

from ircish.network.db import HISTORY_COLUMNS, connect
from ircish.store.schema import history as history_table
from tests.network.nodes import Node, child_of, eventually, network, two_nodes_in
from tests.network.test_failure import LEASE_S
from tests.network.test_nodes import CAPS


async def _stored(url: str, channel: str) -> list[str]:
    def run() -> list[str]:
        conn = connect(url, True)
        try:
            rows = conn.execute("SELECT text FROM history WHERE target_key = %s AND kind ="
                                " 'PRIVMSG' ORDER BY time, id", (channel,)).fetchall()
            return [r[0] for r in rows]
        finally:
            conn.close()

    return await trio.to_thread.run_sync(run)


async def _say_with_a_worker_stopped(n1: Node, alice, bob,  # type: ignore[no-untyped-def]
                                     worker: bytes, reaches_n2: bool) -> list[str]:
    """alice says a line while n1's ``worker`` is stopped; n1 dies; what bob got.

    ``reaches_n2``: the line must reach bob, so it is waited for (a loaded machine
    took longer than a fixed window); otherwise bob is given 2 s to show it."""
    await alice.send("PRIVMSG #x :before")
    assert (await bob.expect("PRIVMSG", timeout=30)).params[1] == "before"
    assert n1.proc is not None
    pid = child_of(n1.proc.pid, worker)
    os.kill(pid, signal.SIGSTOP)
    try:
        await alice.send("PRIVMSG #x :the line")
        await alice.expect("PRIVMSG")  # echo-message: n1's core took it
        start = len(bob.seen)
        if reaches_n2:
            await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == "the line",
                             timeout=30)
        # Room for the running worker to commit it (history ships every 50 ms), or for
        # a second copy.
        await bob.nothing_within(2.0 if not reaches_n2 else 1.0)
        got = [m.params[1] for m in bob.seen[start:] if m.command == "PRIVMSG"]
    finally:
        n1.signal_group(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    await bob.expect("QUIT", timeout=3 * LEASE_S + 5)
    return ["before", *got]


async def test_a_line_stored_while_the_network_worker_is_stopped_reaches_n2_or_is_not_stored(
    tmp_path: Path, postgres_url: str
) -> None:
    async with network(tmp_path, lease_s=LEASE_S) as net:
        n1, _, alice, bob = await two_nodes_in(net, caps=CAPS)
        got = await _say_with_a_worker_stopped(n1, alice, bob, b"ircish.network.worker",
                                         reaches_n2=False)
        assert got == ["before"]
        assert await _stored(net.url, "#x") == got


async def test_a_line_n2_got_while_the_history_worker_is_stopped_is_stored(
    tmp_path: Path, postgres_url: str
) -> None:
    async with network(tmp_path, lease_s=LEASE_S) as net:
        n1, _, alice, bob = await two_nodes_in(net, caps=CAPS)
        got = await _say_with_a_worker_stopped(n1, alice, bob, b"ircish.store.worker",
                                         reaches_n2=True)
        assert got == ["before", "the line"]
        assert await _stored(net.url, "#x") == got


def test_the_network_worker_writes_every_history_column() -> None:
    assert HISTORY_COLUMNS == tuple(c.name for c in history_table.columns if c.name != "id")


async def test_search_redaction_and_read_your_writes_on_a_network_node(
    tmp_path: Path, postgres_url: str
) -> None:
    """The rows the network worker stores are history as any other: a sender reads its
    own line at once, SEARCH on the other node finds it, and REDACT deletes it."""
    caps = ["message-tags", "server-time", "echo-message", "batch", "draft/chathistory",
            "soju.im/search", "draft/message-redaction"]
    async with network(tmp_path) as net:
        _, _, alice, bob = await two_nodes_in(net, caps=caps)
        await alice.send("PRIVMSG #x :harbour lights", "CHATHISTORY LATEST #x * 10")
        msgid = (await alice.expect("PRIVMSG")).tags["msgid"]
        # Behind its line on the same node: CHATHISTORY waits for its commit.
        replay = await alice.collect_until("BATCH")
        replay += await alice.collect_until("BATCH")
        assert [m.tags["msgid"] for m in replay if m.command == "PRIVMSG"] == [msgid]
        assert (await bob.expect("PRIVMSG")).tags["msgid"] == msgid
        await bob.send("SEARCH in=#x;text=harbour")
        found = await bob.collect_until("BATCH")
        found += await bob.collect_until("BATCH")
        assert [m.tags["msgid"] for m in found if m.command == "PRIVMSG"] == [msgid]
        await alice.send(f"REDACT #x {msgid}")
        await alice.expect("REDACT")

        async def gone() -> bool:
            return await _stored(net.url, "#x") == []

        await eventually(gone)
