"""WebSocket clients are ordinary clients: their address (or a trusted proxy's
word for it), bans, limits and TLS apply as to TCP clients."""

from __future__ import annotations

import logging
import ssl
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from ircish.core import numerics as N
from ircish.passwords import hash_password
from ircish.testing import start_server
from tests.ircclient import RawClient
from tests.web.wsclient import ws_irc, ws_port


@cache
def _hash() -> str:
    return hash_password("operpassword")


def _config(**websocket: Any) -> dict[str, Any]:
    return {"websocket": {"listen": ["127.0.0.1:0"], **websocket},
            "opers": [{"name": "op", "password_hash": _hash()}]}


async def _oper(port: int) -> RawClient:
    client = await RawClient.connect(port)
    await client.register("boss")
    await client.send("OPER op operpassword")
    await client.expect("381")
    return client


async def _host_of(asker: RawClient, nick: str) -> str:
    await asker.send(f"WHOIS {nick}")
    return (await asker.expect(N.RPL_WHOISUSER)).params[3]


@pytest.mark.parametrize(
    ("trusted", "forwarded", "seen"),
    [
        (["127.0.0.1"], "203.0.113.7", "203.0.113.7"),
        (["127.0.0.0/8"], "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # Hops through proxies of ours are skipped; the nearest other address counts.
        (["127.0.0.1", "203.0.113.0/24"], "198.51.100.1, 203.0.113.7", "198.51.100.1"),
        (["10.0.0.0/8"], "203.0.113.7", "127.0.0.1"),  # not from a trusted proxy
        ([], "203.0.113.7", "127.0.0.1"),
        (["127.0.0.1"], "not-an-address", "127.0.0.1"),
        (["127.0.0.1"], "2001:db8::5", "2001:db8::5"),
    ],
)
async def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    tmp_path: Path, trusted: list[str], forwarded: str, seen: str
) -> None:
    async with start_server(tmp_path, _config(trusted_proxies=trusted)) as srv:
        _web, _ = await ws_irc(ws_port(srv), "web",
                              headers=[(b"x-forwarded-for", forwarded.encode())])
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        host = await _host_of(tcp, "web")
        assert host == ("0" + seen if seen.startswith(":") else seen)


async def test_dline_of_the_forwarded_address_refuses_the_websocket_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_server(tmp_path, _config(trusted_proxies=["127.0.0.1"])) as srv:
        op = await _oper(srv.port)
        await op.send("DLINE 203.0.113.0/24 :proxied abuse", "PING :sync")
        await op.expect("PONG")
        refused, _ = await ws_irc(ws_port(srv),
                                  headers=[(b"x-forwarded-for", b"203.0.113.9")])
        got = await refused.read_until_closed()
        assert got[-1].command == "ERROR" and "proxied abuse" in got[-1].params[-1]
        # The proxy's own address is not banned: another client through it is fine.
        _fine, _ = await ws_irc(ws_port(srv), "fine",
                               headers=[(b"x-forwarded-for", b"198.51.100.1")])
        assert await _host_of(op, "fine") == "198.51.100.1"
    assert ("refused a connection from 203.0.113.9 (WebSocket): D-line 203.0.113.0/24"
            " (proxied abuse)") in caplog.text


async def test_kline_kills_a_websocket_client_and_refuses_it_again(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config()) as srv:
        op = await _oper(srv.port)
        victim, lines = await ws_irc(ws_port(srv), "victim")
        await op.send("KLINE 1h victim@* :web spam", "PING :sync")
        await op.expect("PONG")
        closing = await victim.read_until_closed()
        assert closing[-1].command == "ERROR" and "web spam" in closing[-1].params[-1]
        assert lines.client.closed is not None and lines.client.closed.code == 1000
        again, _ = await ws_irc(ws_port(srv))
        await again.send("NICK victim", "USER victim 0 * :r")
        got = await again.read_until_closed()
        assert [m.command for m in got][-2:] == ["465", "ERROR"]


async def test_fakelag_and_excess_flood_apply(tmp_path: Path) -> None:
    config = {**_config(), "limits": {"flood_burst": 5, "flood_rate": 1.0, "flood_excess": 20}}
    async with start_server(tmp_path, config) as srv:
        web, _ = await ws_irc(ws_port(srv), "flooder")
        await web.send(*[f"PRIVMSG flooder :{i}" for i in range(200)])
        got = await web.read_until_closed(timeout=10)
        assert got[-1].command == "ERROR" and "Excess Flood" in got[-1].params[-1]


async def test_sendq_applies(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = {**_config(), "limits": {"sendq_bytes": 4096}}
    async with start_server(tmp_path, config) as srv:
        slow, _ = await ws_irc(ws_port(srv), "slow")
        tcp = await RawClient.connect(srv.port)
        await tcp.register("talker")
        for client in (slow, tcp):
            await client.send("JOIN #room")
            await client.expect(N.RPL_ENDOFNAMES)
        # The web client stops reading; the talker's lines pile up for it.
        text = "y" * 400
        with trio.fail_after(20):
            while any(u.nick == "slow" for u in srv.core.connections):
                await tcp.send(*[f"PRIVMSG #room :{text}"] * 20)
                await trio.sleep(0.01)
    assert "SendQ exceeded: slow from 127.0.0.1" in caplog.text


async def test_websocket_over_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    config = {**_config(tls=True), "tls": {"cert": "cert.pem", "key": "key.pem"}}
    async with start_server(tmp_path, config) as srv:
        assert srv.owner("websocket").addresses[0].tls
        port = ws_port(srv)
        web, _ = await ws_irc(port, "secure", ssl_context=client_ctx,
                                  origin=f"https://127.0.0.1:{port}")
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        await tcp.send("WHOIS secure")
        assert (await tcp.expect(N.RPL_WHOISSECURE)).params[1] == "secure"
        await web.send("PRIVMSG tcp :over wss")
        assert (await tcp.expect("PRIVMSG")).params == ["tcp", "over wss"]
        await tcp.send("PRIVMSG secure :back")
        assert (await web.expect("PRIVMSG")).params == ["secure", "back"]
        # Plain HTTP on the TLS port is not answered as HTTP.
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(5):
            data = b""
            while chunk := await stream.receive_some(65536):
                data += chunk
        assert b"HTTP/1.1 200" not in data


async def test_per_address_limit_counts_websocket_clients(tmp_path: Path) -> None:
    config = {**_config(), "limits": {"clients_per_ip": 2}}
    async with start_server(tmp_path, config) as srv:
        first, _ = await ws_irc(ws_port(srv), "one")
        tcp = await RawClient.connect(srv.port)
        await tcp.register("two")
        third, _ = await ws_irc(ws_port(srv))
        got = await third.read_until_closed()
        assert got[-1].command == "ERROR"
        assert "Too many connections from your IP address" in got[-1].params[-1]
        await first.send("PING :still")
        assert (await first.expect("PONG")).params[-1] == "still"


async def test_a_reload_changes_the_allowed_origins(tmp_path: Path) -> None:
    from ircish.app import build_server
    from ircish.config import load_config
    from tests.web.wsclient import Rejected, WsClient

    path = tmp_path / "config.toml"
    base = ("[server]\nlisten = ['127.0.0.1:0']\n[channels]\nauto_join = []\n"
            "[storage]\nurl = ''\n[websocket]\nlisten = ['127.0.0.1:0']\n")
    path.write_text(base)
    app = build_server(load_config(path))
    async with start_server(tmp_path, app=app) as srv:
        port = ws_port(srv)
        with pytest.raises(Rejected):
            await WsClient.connect(port, origin="https://chat.example.org")
        path.write_text(base + "allowed_origins = ['https://chat.example.org']\n")
        assert await srv.app.reload()
        client = await WsClient.connect(port, origin="https://chat.example.org")
        assert client.subprotocol == "text.ircv3.net"
