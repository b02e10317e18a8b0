"""The irssi-user items over real sockets: a scripted server, ircish in-process, ngircd."""

from __future__ import annotations

from pathlib import Path

import trio

from ircish.client.commands import run_input
from ircish.client.model import LIST_BUFFER, BufferKind
from ircish.testing import start_server
from tests.client.fakeircd import FakeIrcd
from tests.client.helpers import client_for, texts, wait_for
from tests.ircclient import RawClient

ALL_CAPS = {"server-time": "", "message-tags": "", "batch": "", "draft/chathistory": ""}


async def test_reconnect_keeps_the_window_and_says_why_the_server_closed(
    nursery: trio.Nursery,
) -> None:
    fake = FakeIrcd()
    port = await nursery.start(fake.serve)
    client = client_for(port, join=("#lobby", "#dev"))
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#dev") and client.buffers.get("#dev").joined)  # type: ignore[union-attr]
    dev = client.buffers.get("#dev")
    client.buffers.switch_to(dev)  # type: ignore[arg-type]
    await fake.to_all("ERROR :Closing Link: ada (Killed (oper (go away)))")
    await fake.drop_all()
    await wait_for(lambda: fake.connections == 2 and dev.joined)  # type: ignore[union-attr]
    assert client.buffers.current is dev
    assert "Disconnected: Closing Link: ada (Killed (oper (go away)))" in texts(client, "#dev")
    await client.connection.quit("bye")


async def test_ircish_query_history_and_read_markers_across_devices(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """Two clients on one account: the second finds the private conversation the first
    had (TARGETS, LATEST), and reading it there moves the first's marker."""
    from tests.accounts.conftest import accounts_config, registered

    async with start_server(tmp_path, accounts_config()) as server:
        registering = await registered(server.port, "ada", "sesame-open")
        await registering.send("QUIT")
        await registering.read_until_closed()  # the nick is free again
        login = {"sasl_account": "ada", "sasl_password": "sesame-open"}
        first = client_for(server.port, **login)
        nursery.start_soon(first.connection.run)
        await wait_for(lambda: first.session.registered and first.buffers.get("#lobby"), 15)
        assert first.session.account == "ada"
        ivan = await RawClient.connect(server.port)
        await ivan.register("ivan")
        await ivan.send("PRIVMSG ada :are you there?")
        await wait_for(lambda: first.buffers.get("ivan") is not None)
        first.session.say("ivan", "yes, here")
        await ivan.expect("PRIVMSG")
        await ivan.nothing_within(0.3)  # written to the database meanwhile

        second = client_for(server.port, nick="ada2", **login)
        nursery.start_soon(second.connection.run)
        await wait_for(lambda: second.buffers.get("ivan") is not None, 15)
        query = second.buffers.get("ivan")
        assert query is not None and query.kind is BufferKind.QUERY
        chat = lambda: [line.text for line in query.lines if line.kind == "message"]  # noqa: E731
        await wait_for(lambda: len(chat()) == 2)
        assert chat() == ["are you there?", "yes, here"]
        assert second.buffers.current.name == "#lobby"  # opened without taking the focus

        # draft/read-marker: reading the query on the second device moves the first's.
        assert "draft/read-marker" in second.session.caps
        first_query = first.buffers.get("ivan")
        assert first_query is not None
        before = first_query.last_read  # answering ivan read what ivan had said
        second.buffers.switch_to(query)
        newest = query.newest_chat_time()
        assert newest is not None and before is not None and newest > before
        await wait_for(lambda: first_query.last_read == newest)
        assert first_query.marker == newest and first_query.unread == 0
        assert not any(t.startswith("FAIL") for t in texts(second, "*"))
        await first.connection.quit("bye")
        await second.connection.quit("bye")
        await ivan.aclose()


async def test_ngircd_numerics_and_channel_commands(ngircd: int, nursery: trio.Nursery) -> None:
    client = client_for(ngircd, join=("#ops",))
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#ops") and client.buffers.get("#ops").members)  # type: ignore[union-attr]
    ops = client.buffers.get("#ops")
    assert ops is not None
    ctx = client.context(lambda reason: None)

    bob = await RawClient.connect(ngircd)
    await bob.register("bob")
    await bob.send("JOIN #ops")
    await bob.expect("366")
    await wait_for(lambda: "bob" in ops.members)
    run_input(ctx, "/op bob")
    await wait_for(lambda: ops.members["bob"].prefixes == "@")
    run_input(ctx, "/deop bob")
    run_input(ctx, "/voice bob")
    await wait_for(lambda: ops.members["bob"].prefixes == "+")

    run_input(ctx, "/mode #ops")
    shown = lambda: texts(client, "#ops")  # noqa: E731
    await wait_for(lambda: any(t.startswith("Channel #ops created 2") for t in shown()))
    assert any(t.startswith("Mode #ops: +") for t in texts(client, "#ops"))

    # mIRC formatting comes through as the sender wrote it.
    await bob.send("PRIVMSG #ops :\x02bold\x02 and \x034red\x03")
    await wait_for(lambda: "bold and red" in texts(client, "#ops"))
    assert ops.lines[-1].styled == "\x02bold\x02 and \x034red\x03"

    run_input(ctx, "/ban bob")  # its host is known from bob's lines
    await wait_for(lambda: any("+b *!*@" in t for t in texts(client, "#ops")))
    run_input(ctx, "/ban")
    await wait_for(lambda: any("#ops: end of ban list" in t for t in texts(client, "#ops")))
    assert any(t.startswith("#ops: ban *!*@") and "[by ada" in t for t in texts(client, "#ops"))

    run_input(ctx, "/raw WHO #ops")
    await wait_for(lambda: any(t.startswith("End of WHO list for #ops") for t in shown()))
    assert any(t.startswith("#ops") and " bob " in t and "@" in t for t in texts(client, "#ops"))

    run_input(ctx, "/whois bob")
    await wait_for(lambda: "End of WHOIS" in shown())
    assert any(t.startswith("bob [") for t in shown())
    assert any(t.startswith(" server   : ngircd.test [") for t in shown())

    run_input(ctx, "/kick bob behave")
    got = await bob.expect("KICK")
    assert got.params == ["#ops", "bob", "behave"]
    run_input(ctx, "/invite bob")
    got = await bob.expect("INVITE")
    assert got.params[-1] == "#ops"

    run_input(ctx, "/list")
    await wait_for(lambda: client.buffers.get(LIST_BUFFER) is not None)
    listing = texts(client, LIST_BUFFER)
    assert listing[0].split() == ["Channel", "Users", "Topic"]
    assert any(t.startswith("#lobby") and "the ngircd lobby" in t for t in listing)
    assert any(t.split()[:2] == ["#ops", "1"] for t in listing)
    await bob.aclose()
