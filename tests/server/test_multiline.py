"""draft/multiline over sockets: a batch in one packet, fakelag, and history.

The rules one by one are in tests/core/test_multiline.py; here the real server
(build_server lists the feature) and its history worker.
"""

from __future__ import annotations

from pathlib import Path

from ircish.protocol import Message
from ircish.testing import start_server
from tests.history.conftest import with_history
from tests.ircclient import RawClient

CAP = "draft/multiline"
CONCAT = "draft/multiline-concat"
BASE = ["batch", "message-tags", "server-time", "echo-message", "labeled-response"]
BATCH = [
    "BATCH +m1 draft/multiline #c",
    "@batch=m1 PRIVMSG #c :hello",
    "@batch=m1 PRIVMSG #c :",
    "@batch=m1 PRIVMSG #c :how is ",
    f"@batch=m1;{CONCAT} PRIVMSG #c :everyone?",
    "BATCH -m1",
]


async def joined(port: int, nick: str, caps: list[str], channel: str = "#c") -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick, caps)
    await client.send(f"JOIN {channel}")
    await client.expect("366")
    return client


async def read_batch(client: RawClient) -> list[Message]:
    """A whole batch: its opening line, to its end (nested batches included)."""
    start = await client.expect(lambda m: m.command == "BATCH")
    ref = start.params[0][1:]
    rest = await client.collect_until("BATCH")
    while rest[-1].params != ["-" + ref]:
        rest += await client.collect_until("BATCH")
    return [start, *rest]


async def sync(client: RawClient) -> None:
    await client.send("PING sync")
    await client.expect("PONG")


async def test_a_batch_in_one_packet_reaches_both_kinds_of_clients(tmp_path: Path) -> None:
    async with start_server(tmp_path) as srv:
        alice = await joined(srv.port, "alice", [*BASE, CAP])
        bob = await joined(srv.port, "bob", [*BASE, CAP])
        carol = await joined(srv.port, "carol", BASE)
        ls = await RawClient.connect(srv.port)
        await ls.send("CAP LS 302")
        listed = await ls.collect_until("CAP")
        while listed[-1].params[2] == "*":  # a long list comes in several lines
            listed = await ls.collect_until("CAP")
        tokens = " ".join(m.params[-1] for m in ls.seen if m.command == "CAP").split()
        assert f"{CAP}=max-bytes=4096,max-lines=32" in tokens
        await alice.send("@label=one " + BATCH[0], *BATCH[1:])
        echo = await read_batch(alice)
        assert echo[0].tags["label"] == "one" and len(echo) == 6
        got = await read_batch(bob)
        assert got[0].tags["msgid"] == echo[0].tags["msgid"]
        assert [m.params[1] for m in got[1:-1]] == ["hello", "", "how is ", "everyone?"]
        plain = [await carol.expect("PRIVMSG") for _ in range(3)]
        assert [(m.params[1], m.tags.get("msgid")) for m in plain] == [
            ("hello", echo[0].tags["msgid"]), ("how is ", None), ("everyone?", None)]
        for client in (alice, bob, carol, ls):
            await client.aclose()


async def test_each_line_of_a_batch_counts_for_fakelag(tmp_path: Path) -> None:
    limits = {"flood_burst": 3, "flood_rate": 1, "flood_excess": 6}
    async with start_server(tmp_path, {"limits": limits}) as srv:
        bob = await joined(srv.port, "bob", [*BASE, CAP])
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", [*BASE, CAP])
        lines = ["BATCH +f draft/multiline bob",
                 *[f"@batch=f PRIVMSG bob :line {i}" for i in range(12)], "BATCH -f"]
        await alice.send(*lines)
        closing = await alice.read_until_closed()
        assert any(m.command == "ERROR" and "Excess Flood" in m.params[-1] for m in closing)
        assert [m for m in await bob.nothing_within(0.3) if m.command == "PRIVMSG"] == []
        await bob.aclose()


async def test_a_batch_behind_fakelag_is_delivered_whole(tmp_path: Path) -> None:
    limits = {"flood_burst": 2, "flood_rate": 200, "flood_excess": 100}
    async with start_server(tmp_path, {"limits": limits}) as srv:
        bob = await joined(srv.port, "bob", [*BASE, CAP])
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", [*BASE, CAP])
        lines = ["BATCH +f draft/multiline bob",
                 *[f"@batch=f PRIVMSG bob :line {i}" for i in range(20)], "BATCH -f"]
        await alice.send(*lines)
        got = await read_batch(bob)
        assert [m.params[1] for m in got[1:-1]] == [f"line {i}" for i in range(20)]
        for client in (alice, bob):
            await client.aclose()


async def test_history_keeps_one_message_and_gives_it_back_as_it_was_sent(
        tmp_path: Path) -> None:
    async with start_server(tmp_path, with_history()) as srv:
        alice = await joined(srv.port, "alice", [*BASE, CAP])
        await alice.send(*BATCH)
        live = await read_batch(alice)
        msgid = live[0].tags["msgid"]
        await sync(alice)

        bob = await joined(srv.port, "bob", [*BASE, CAP, "draft/chathistory"])
        await bob.send("CHATHISTORY LATEST #c * 10")
        got = await read_batch(bob)
        assert got[0].params[1] == "chathistory"
        outer = got[0].params[0][1:]
        start = got[1]
        assert start.params[1:] == ["draft/multiline", "#c"]
        assert start.tags["msgid"] == msgid and start.tags["batch"] == outer
        inner = start.params[0][1:]
        assert [(m.params[1], CONCAT in m.tags, m.tags["batch"]) for m in got[2:6]] == [
            ("hello", False, inner), ("", False, inner), ("how is ", False, inner),
            ("everyone?", True, inner)]
        assert got[6].params == ["-" + inner] and got[7].params == ["-" + outer]

        carol = await joined(srv.port, "carol", [*BASE, "draft/chathistory"])
        await carol.send("CHATHISTORY LATEST #c * 10")
        got = await read_batch(carol)
        assert [(m.params[1], m.tags.get("msgid")) for m in got[1:-1]] == [
            ("hello", msgid), ("how is ", None), ("everyone?", None)]

        # The replay on join, to a client without server-time: the stamp on the
        # first line only, each line on its own.
        dave = await RawClient.connect(srv.port)
        await dave.register("dave")
        await dave.send("JOIN #c")
        replay = []
        while True:
            msg = await dave.expect(lambda m: m.command in ("PRIVMSG", "NOTICE"))
            if msg.command == "NOTICE" and "end of replay" in msg.params[-1]:
                break
            if msg.command == "PRIVMSG":
                replay.append(msg.params[1])
        assert len(replay) == 3 and replay[0].endswith("] hello") and replay[0].startswith("[")
        assert replay[1:] == ["how is ", "everyone?"]
        for client in (alice, bob, carol, dave):
            await client.aclose()
