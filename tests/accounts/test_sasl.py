"""SASL over sockets: PLAIN, SCRAM-SHA-256, and every bad input the specs name."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from ircish.accounts import hashing
from ircish.net.offload import WORKER_THREADS
from ircish.testing import RunningServer
from tests.accounts.conftest import registered
from tests.accounts.helpers import b64, finish, plain, sasl_plain, sasl_scram, start_sasl
from tests.ircclient import RawClient


async def test_cap_ls_offers_the_mechanisms(aserver: RunningServer) -> None:
    client = await RawClient.connect(aserver.port)
    # No TLS listener here, so no EXTERNAL (see test_external.py).
    assert "sasl=PLAIN,SCRAM-SHA-256" in await client.cap_ls()
    await client.aclose()


async def test_plain_and_scram_log_in(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "alice", "sesame-open")
    await owner.aclose()
    client = await start_sasl(aserver.port, "alice2")
    assert await sasl_plain(client, "alice", "sesame-open") == "903"
    loggedin = next(m for m in client.seen if m.command == "900")
    assert loggedin.params[2] == "alice"
    await finish(client)
    await client.send("WHOIS alice2")
    whois = await client.collect_until("318")
    assert any(m.command == "330" and m.params[2] == "alice" for m in whois)
    other = await start_sasl(aserver.port, "alice3")
    assert await sasl_scram(other, "ALICE", "sesame-open") == "903"
    await other.aclose()
    await client.aclose()


async def test_wrong_passwords_fail_then_are_throttled(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "bob", "right-password")
    await owner.aclose()
    client = await start_sasl(aserver.port, "bob2")
    for _ in range(5):
        assert await sasl_plain(client, "bob", "wrong-password") == "904"
    # The sixth is refused without a check, the right password included.
    assert await sasl_plain(client, "bob", "right-password") == "904"
    assert "too many" in client.seen[-1].params[-1]
    # Another connection is refused too: the account has had 5 failures this minute.
    other = await start_sasl(aserver.port, "bob3")
    assert await sasl_scram(other, "bob", "right-password") == "904"
    await other.aclose()
    assert await sasl_scram(await start_sasl(aserver.port, "bob4"), "nobody", "x1234") == "904"
    await client.aclose()


async def test_bad_input_gets_the_numerics(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "carol", "sesame-open")
    await owner.aclose()
    client = await start_sasl(aserver.port, "carol2")

    async def answer(*lines: str) -> str:
        # The first SASL numeric the lines got; the PING makes sure all are in.
        await client.send(*lines, "PING :sync")
        got = await client.collect_until("PONG")
        return next(m.command for m in got if m.command in ("904", "905", "906", "908"))

    assert await answer("AUTHENTICATE FOO") == "908"
    assert await answer("AUTHENTICATE PLAIN", "AUTHENTICATE !!!") == "904"
    assert await answer("AUTHENTICATE PLAIN", "AUTHENTICATE " + "A" * 401) == "905"
    assert await answer("AUTHENTICATE PLAIN", "AUTHENTICATE *") == "906"
    # A mechanism named mid-exchange is taken as a response: not base64.
    assert await answer("AUTHENTICATE PLAIN", "AUTHENTICATE SCRAM-SHA-256") == "904"
    # A response far longer than any login: refused, not kept.
    assert await answer("AUTHENTICATE PLAIN", *["AUTHENTICATE " + "QUFB" * 100] * 20) == "904"
    # Empty name or password (RFC 4616): refused.
    assert await answer("AUTHENTICATE PLAIN", "AUTHENTICATE " + b64(b"\0carol\0")) == "904"
    # SCRAM with a nonce that is not the server's.
    await client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE")
    await client.send("AUTHENTICATE " + b64(b"n,,n=carol,r=abc"))
    challenge = base64.b64decode((await client.expect("AUTHENTICATE")).params[-1]).decode()
    assert challenge.startswith("r=abc")
    assert await answer("AUTHENTICATE " + b64(b"c=biws,r=abcd,p=" + b64(b"x" * 32).encode())) \
        == "904"
    # A response in two chunks of 400 and "+" works.
    long_password = "p" * 600
    assert await sasl_plain(client, "carol", "sesame-open") == "903"
    await client.send("AUTHENTICATE PLAIN")
    assert (await client.expect("907")).command == "907"
    await finish(client)
    await client.send("PING :alive")
    await client.expect("PONG")
    assert len(plain("carol", long_password)) > 800
    await client.aclose()


async def test_long_password_in_chunks(aserver: RunningServer) -> None:
    password = "bar" * 100
    owner = await registered(aserver.port, "dave", password)
    await owner.aclose()
    client = await start_sasl(aserver.port, "dave2")
    auth = plain("dave", password)
    await client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE")
    await client.send(*[f"AUTHENTICATE {auth[i:i + 400]}" for i in range(0, len(auth), 400)])
    if len(auth) % 400 == 0:
        await client.send("AUTHENTICATE +")
    assert (await client.expect(lambda m: m.command in ("903", "904"))).command == "903"
    await client.aclose()


async def test_require_sasl_lets_only_logged_in_clients_stay(tmp_path: Path) -> None:
    from ircish.testing import start_server
    from tests.accounts.conftest import accounts_config

    async with start_server(tmp_path, accounts_config(
            {"accounts": {"require_sasl": True, "nick_reservation": "off"}})) as srv:
        plainclient = await RawClient.connect(srv.port)
        await plainclient.send("NICK nobody", "USER n 0 * :n")
        lines = await plainclient.read_until_closed()
        assert any(m.command == "ERROR" and "SASL" in m.params[-1] for m in lines)
        # REGISTER before connecting, then a SASL login on the next connection.
        reg = await RawClient.connect(srv.port)
        await reg.send("NICK kim", "REGISTER * * kim-password")
        await reg.expect("900")
        await reg.aclose()
        client = await start_sasl(srv.port, "kim")
        assert await sasl_plain(client, "kim", "kim-password") == "903"
        await finish(client)
        await client.send("PING :still-here")
        await client.expect("PONG")
        await client.aclose()


async def test_scram_logs_in_while_every_worker_thread_checks_a_password(
        aserver: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # PLAIN checks hold both worker threads (argon2 in a storm); a SCRAM login
    # needs no hashing on the server and must not wait for them.
    owner = await registered(aserver.port, "erin", "erin-password")
    await owner.aclose()
    release = threading.Event()
    real_verify = hashing.verify

    def slow_verify(password: str, password_hash: str) -> bool:
        release.wait(20)
        return real_verify(password, password_hash)

    monkeypatch.setattr(hashing, "verify", slow_verify)
    plains = [await start_sasl(aserver.port, f"erinp{i}") for i in range(WORKER_THREADS)]
    for client in plains:
        await client.send("AUTHENTICATE PLAIN")
        await client.expect("AUTHENTICATE")
        await client.send(f"AUTHENTICATE {plain('erin', 'erin-password')}")
    scram_client = await start_sasl(aserver.port, "erins")
    try:
        assert await sasl_scram(scram_client, "erin", "erin-password") == "903"
    finally:
        release.set()
    for client in plains:
        assert (await client.expect(lambda m: m.command in ("903", "904"))).command == "903"
        await client.aclose()
    await scram_client.aclose()
