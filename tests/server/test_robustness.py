"""Bad input, dead clients and misbehaving code never take the server down."""

from __future__ import annotations

import logging

import pytest
import trio

from ircish.core import numerics as N
from ircish.core.commands import Command
from tests.ircclient import RawClient


async def _client(port: int, nick: str) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick)
    return client


async def test_overlong_line_gets_417_and_connection_survives(server, connect) -> None:
    alice = await connect("alice")
    await alice.send("PRIVMSG alice :" + "x" * 600)
    err = await alice.expect(N.ERR_INPUTTOOLONG)
    assert err.params[0] == "alice"
    await alice.send("PING still-here")
    assert (await alice.expect("PONG")).params[-1] == "still-here"


async def test_line_of_exactly_512_bytes_is_accepted(server, connect) -> None:
    alice = await connect("alice")
    prefix = "PING "
    await alice.send(prefix + "y" * (510 - len(prefix)))
    pong = await alice.expect("PONG")
    assert pong.params[-1] == "y" * (510 - len(prefix))


async def test_overlong_line_without_newline_is_dropped_not_truncated(server, connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob")
    # 20 kB with no line end, then the end of that line and a normal line.
    await alice.send_raw(b"PRIVMSG bob :" + b"z" * 20000)
    await alice.send_raw(b"zzz\r\nPRIVMSG bob :short\r\n")
    await alice.expect(N.ERR_INPUTTOOLONG)
    msg = await bob.expect("PRIVMSG")
    assert msg.params == ["bob", "short"]


async def test_tag_section_has_its_own_limit(server, connect) -> None:
    alice = await connect("alice", caps=["message-tags"])
    bob = await connect("bob", caps=["message-tags"])
    big_tag = "@+data=" + "t" * 4000
    await alice.send(f"{big_tag} PRIVMSG bob :tagged")
    got = await bob.expect("PRIVMSG")
    assert got.tags["+data"] == "t" * 4000
    await alice.send("@+data=" + "t" * 9000 + " PRIVMSG bob :too many tags")
    await alice.expect(N.ERR_INPUTTOOLONG)


async def test_invalid_utf8_is_decoded_with_fallback_when_allowed(make_server) -> None:
    async with make_server({"limits": {"utf8_only": False}}) as srv:
        alice, bob = await _client(srv.port, "alice"), await _client(srv.port, "bob")
        await alice.send_raw(b"PRIVMSG bob :caf\xe9 \xff\xfe\r\n")
        msg = await bob.expect("PRIVMSG")
        assert msg.params[1] == "café ÿþ"
        await alice.aclose()
        await bob.aclose()


async def test_nul_bare_newlines_empty_lines_and_many_params(server, connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.send_raw(b"\r\n\n\r")
    await alice.send_raw(b"PRIVMSG bob :nul\x00byte\nPRIVMSG bob :bare-lf\n")
    await alice.send_raw(b"PRIVMSG bob :bare-cr\r")
    await alice.send("PRIVMSG bob " + " ".join(f"p{i}" for i in range(20)))
    await alice.send(":only-a-source", "@only=tags")
    texts = [(await bob.expect("PRIVMSG")).params[1] for _ in range(4)]
    assert texts == ["nulbyte", "bare-lf", "bare-cr", "p0"]
    await alice.send("PING ok")
    assert (await alice.expect("PONG")).params[-1] == "ok"


async def test_unknown_command_gets_421(server, connect) -> None:
    alice = await connect("alice")
    await alice.send("FROBNICATE now")
    err = await alice.expect(N.ERR_UNKNOWNCOMMAND)
    assert err.params[1] == "FROBNICATE"


async def test_failing_handler_does_not_stop_the_server(server, connect) -> None:
    def explode(server_, user, msg) -> None:
        raise RuntimeError("boom")

    server.core.commands["EXPLODE"] = Command("EXPLODE", explode)
    alice = await connect("alice")
    bob = await connect("bob")
    await alice.send("EXPLODE")
    err = await alice.expect(N.ERR_UNKNOWNERROR)
    assert err.params[1] == "EXPLODE"
    await alice.send("PRIVMSG bob :after the failure")
    assert (await bob.expect("PRIVMSG")).params[1] == "after the failure"
    carol = await connect("carol")
    assert carol.seen[0].command == "001"


async def test_registration_timeout(make_server) -> None:
    async with make_server({"limits": {"registration_timeout": 0.4}}) as srv:
        client = await RawClient.connect(srv.port)
        await client.send("NICK slowpoke")
        lines = await client.read_until_closed()
        assert lines[-1].command == "ERROR"
        assert "Registration timed out" in lines[-1].params[0]


async def test_ping_timeout_and_pong_keeps_alive(make_server) -> None:
    config = {"limits": {"ping_interval": 0.3, "ping_timeout": 0.4}}
    async with make_server(config) as srv:
        dead = await _client(srv.port, "dead")
        alive = await _client(srv.port, "alive")
        await dead.send("JOIN #c")
        await alive.send("JOIN #c")

        async def answer_pings() -> None:
            while True:
                ping = await alive.expect("PING", timeout=10)
                await alive.send(f"PONG :{ping.params[0]}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_pings)
            lines = await dead.read_until_closed()
            # Several more ping rounds pass for the client that answers.
            await trio.sleep(1.0)
            nursery.cancel_scope.cancel()
        assert lines[-1].command == "ERROR"
        assert "Ping timeout" in lines[-1].params[0]
        quits = [m for m in alive.seen if m.command == "QUIT"]
        assert len(quits) == 1 and quits[0].source.startswith("dead!")
        assert quits[0].params[0].startswith("Ping timeout")
        await alive.send("PING x")
        assert (await alive.expect("PONG")).params[-1] == "x"


async def test_stalled_reader_is_dropped_and_does_not_delay_others(
    make_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {"limits": {"sendq_bytes": 32768, "flood_burst": 100000, "flood_rate": 100000.0}}
    async with make_server(config) as srv:
        talker = await _client(srv.port, "talker")
        fast = await _client(srv.port, "fast")
        stalled = await _client(srv.port, "stalled")
        for c in (talker, fast, stalled):
            await c.send("JOIN #busy")
            await c.expect("366")
        await fast.collect_until("JOIN")  # its own; others' JOINs may follow
        # The stalled client never reads again. The talker sends far more than the
        # kernel buffers plus the send queue can hold.
        payload = "m" * 400
        count = 15000
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while received < count:
                msg = await fast.expect("PRIVMSG", timeout=10)
                assert msg.params[1].endswith(payload)
                received += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_fast)
            for i in range(count):
                await talker.send(f"PRIVMSG #busy :{i} {payload}")
        assert received == count
        quits = [m for m in fast.seen if m.command == "QUIT"]
        assert [(q.source.split("!")[0], q.params[0]) for q in quits] == [
            ("stalled", "SendQ exceeded")
        ]
    assert "SendQ exceeded: stalled from 127.0.0.1" in caplog.text


async def test_fakelag_delays_then_excess_flood_disconnects(
    make_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {"limits": {"flood_burst": 5, "flood_rate": 10.0, "flood_excess": 50}}
    async with make_server(config) as srv:
        client = await _client(srv.port, "paster")
        await trio.sleep(0.6)  # let the bucket refill after registration
        await client.send(*[f"PING p{i}" for i in range(20)])
        early = [m for m in await client.nothing_within(0.2) if m.command == "PONG"]
        # The burst and a couple of refills at most: the rest are held back, not lost.
        assert 5 <= len(early) < 20
        rest = [await client.expect("PONG") for _ in range(20 - len(early))]
        assert [m.params[-1] for m in early + rest] == [f"p{i}" for i in range(20)]

        flooder = await _client(srv.port, "flooder")
        await flooder.send(*[f"PRIVMSG paster :{i}" for i in range(300)])
        lines = await flooder.read_until_closed()
        assert lines[-1].command == "ERROR" and "Excess Flood" in lines[-1].params[0]
    assert "Excess Flood: flooder from 127.0.0.1" in caplog.text


async def test_connection_limits(make_server) -> None:
    async with make_server({"limits": {"clients_per_ip": 2}}) as srv:
        first = await _client(srv.port, "one")
        second = await RawClient.connect(srv.port)
        third = await RawClient.connect(srv.port)
        lines = await third.read_until_closed()
        assert lines and lines[-1].command == "ERROR"
        assert "Too many connections" in lines[-1].params[0]
        await second.register("two")
        await first.send("PING ok")
        await first.expect("PONG")
    async with make_server({"limits": {"max_clients": 1}}) as srv:
        # Held: a dropped client is closed at once, and its place freed.
        only = await _client(srv.port, "only")
        extra = await RawClient.connect(srv.port)
        lines = await extra.read_until_closed()
        assert "Server is full" in lines[-1].params[0]
        await only.send("PING still")
        await only.expect("PONG")


async def test_vanished_client_is_announced(server, connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob")
    for c in (alice, bob):
        await c.send("JOIN #x")
        await c.expect("366")
    await bob.aclose()
    quit_ = await alice.expect("QUIT")
    assert quit_.source.startswith("bob!")
    await alice.send("NAMES #x")
    names = await alice.expect(N.RPL_NAMREPLY)
    assert names.params[-1].split() == ["@alice"]
