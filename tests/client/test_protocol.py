"""The client's protocol side over real loopback sockets, against a scripted server."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
import trio

from ircish.client.session import WANTED_CAPS
from tests.client.fakeircd import FakeIrcd, make_history
from tests.client.helpers import client_for, texts, wait_for

ALL_CAPS = {cap: "" for cap in WANTED_CAPS}


async def test_negotiates_caps_and_shows_history_on_join(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=ALL_CAPS, history={"#lobby": make_history("#lobby", 5)})
    port = await nursery.start(fake.serve)
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") and len(texts(client, "#lobby")) >= 6)

    assert set(client.session.caps) == set(WANTED_CAPS)
    assert fake.lines("CAP")[0] == "CAP LS 302"
    assert fake.lines("CAP")[-1] == "CAP END"
    assert "CHATHISTORY LATEST #lobby * 50" in fake.received
    lobby = client.buffers.get("#lobby")
    assert lobby is not None and client.buffers.current is lobby
    history = [line for line in lobby.lines if line.kind == "message"]
    assert [line.text for line in history] == [f"#lobby message {i}" for i in range(5)]
    # server-time is used, not the time of arrival
    assert history[0].time.isoformat() == "2026-01-02T03:04:05+00:00"
    # history is ordered before the join notice that arrived first
    kinds = [line.kind for line in lobby.lines]
    assert kinds.index("join") == 5
    assert client.buffers.server.unread == 0


async def test_works_without_any_capability(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps={})  # answers CAP with 421, like a server from before IRCv3
    port = await nursery.start(fake.serve)
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") is not None)
    assert client.session.registered and client.session.caps == set()
    assert not fake.lines("CHATHISTORY")
    # without echo-message our own message is shown locally
    client.session.say("#lobby", "hi all")
    assert texts(client, "#lobby")[-1] == "hi all"
    await wait_for(lambda: "PRIVMSG #lobby :hi all" in fake.received)


async def test_echo_message_shows_own_message_once(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(caps=ALL_CAPS)
    port = await nursery.start(fake.serve)
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#lobby") is not None)
    client.session.say("#lobby", "echoed")
    await wait_for(lambda: "echoed" in texts(client, "#lobby"))
    await trio.sleep(0.05)
    assert texts(client, "#lobby").count("echoed") == 1
    line = client.buffers.get("#lobby").lines[-1]  # type: ignore[union-attr]
    assert line.own and line.msgid is not None


async def test_taken_nick_is_retried_with_a_suffix(nursery: trio.Nursery) -> None:
    fake = FakeIrcd(taken={"ada", "ada_"})
    port = await nursery.start(fake.serve)
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    assert client.session.nick == "ada__"
    assert fake.lines("NICK") == ["NICK ada", "NICK ada_", "NICK ada__"]


async def test_connection_loss_is_shown_everywhere_and_channels_rejoined(
    nursery: trio.Nursery,
) -> None:
    fake = FakeIrcd()
    port = await nursery.start(fake.serve)
    client = client_for(port, join=("#a", "#b"))
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.buffers.get("#b") is not None)
    client.session.send("PART", "#b")  # the fake ignores PART; mark it left ourselves
    client.buffers.get("#b").joined = False  # type: ignore[union-attr]

    await fake.drop_all()
    await wait_for(lambda: any("Disconnected" in t for t in texts(client, "#a")))
    for buffer in client.buffers.all:
        assert any(line.text.startswith("Disconnected") for line in buffer.lines), buffer.name

    await wait_for(lambda: fake.connections == 2 and client.session.registered)
    await wait_for(lambda: len(fake.lines("JOIN")) == 2)
    assert fake.lines("JOIN") == ["JOIN #a,#b", "JOIN #a"]
    assert client.buffers.get("#a").joined  # type: ignore[union-attr]


async def test_reconnects_when_the_server_is_not_there_yet(nursery: trio.Nursery) -> None:
    with trio.socket.socket() as probe:  # a free port nobody listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: sum("Could not connect" in t for t in texts(client, "*")) >= 2)
    assert not client.session.registered


async def test_scrolling_back_fetches_older_history_until_exhausted(
    nursery: trio.Nursery,
) -> None:
    fake = FakeIrcd(caps=ALL_CAPS, history={"#lobby": make_history("#lobby", 80)})
    port = await nursery.start(fake.serve)
    client = client_for(port, history_lines=30)
    nursery.start_soon(client.connection.run)
    lobby_lines = lambda: [  # noqa: E731
        line.text
        for line in client.buffers.get("#lobby").lines
        if line.kind == "message"  # type: ignore[union-attr]
    ]
    await wait_for(lambda: client.buffers.get("#lobby") and len(lobby_lines()) == 30)
    lobby = client.buffers.get("#lobby")
    assert lobby is not None
    assert lobby_lines()[0] == "#lobby message 50"

    assert client.session.request_older(lobby)
    assert not client.session.request_older(lobby)  # one request in flight at a time
    await wait_for(lambda: len(lobby_lines()) == 60)
    assert "CHATHISTORY BEFORE #lobby msgid=m50 30" in fake.received
    assert lobby_lines()[0] == "#lobby message 20"
    assert lobby_lines() == sorted(lobby_lines(), key=lambda t: int(t.split()[-1]))

    client.session.request_older(lobby)
    await wait_for(lambda: len(lobby_lines()) == 80)
    client.session.request_older(lobby)
    await wait_for(lambda: lobby.history_exhausted)
    assert lobby.lines[0].text == "No older history."
    assert not client.session.request_older(lobby)


async def test_quit_sends_quit_and_stops(nursery: trio.Nursery) -> None:
    fake = FakeIrcd()
    port = await nursery.start(fake.serve)
    client = client_for(port)
    nursery.start_soon(client.connection.run)
    await wait_for(lambda: client.session.registered)
    with trio.fail_after(5):
        await client.connection.quit("bye now")
        await client.connection.closed.wait()
    assert fake.lines("QUIT") == ["QUIT :bye now"]


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway certificate (a sync fixture, so a skip
    shows its reason)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no test certificate can be made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_connects_and_checks_certificates(
    self_signed: ssl.SSLContext, nursery: trio.Nursery
) -> None:
    fake = FakeIrcd()
    port = await nursery.start(fake.serve, self_signed)

    strict = client_for(port, tls=True)
    nursery.start_soon(strict.connection.run)
    await wait_for(lambda: any("Could not connect" in t for t in texts(strict, "*")))
    assert "certificate verify failed" in texts(strict, "*")[0].lower()
    assert "--insecure" in texts(strict, "*")[0]
    assert not strict.session.registered
    # Not retried: a certificate does not change by waiting, the loop has ended.
    with trio.fail_after(2):
        await strict.connection.closed.wait()
    assert sum("Could not connect" in t for t in texts(strict, "*")) == 1

    insecure = client_for(port, tls=True, tls_verify=False)
    nursery.start_soon(insecure.connection.run)
    await wait_for(lambda: insecure.buffers.get("#lobby") is not None)
    assert fake.lines("USER")
