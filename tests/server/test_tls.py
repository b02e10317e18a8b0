"""TLS listeners with a self-signed certificate made in the test."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import trio
import trustme

from ircish.core import numerics as N
from tests.ircclient import RawClient


async def test_tls_and_plain_clients_share_a_channel(
    tmp_path: Path, make_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    config = {"tls": {"listen": ["127.0.0.1:0"], "cert": "cert.pem", "key": "key.pem"}}
    async with make_server(config) as srv:
        assert srv.tls_port is not None
        stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", srv.tls_port,
                                                     ssl_context=client_ctx)
        secure = RawClient(stream)
        await secure.register("secure")
        plain = await RawClient.connect(srv.port)
        await plain.register("plain")
        for c in (secure, plain):
            await c.send("JOIN #mixed")
            await c.expect("366")
        await plain.send("PRIVMSG #mixed :over plain tcp")
        assert (await secure.expect("PRIVMSG")).params[1] == "over plain tcp"
        await secure.send("PRIVMSG #mixed :over tls")
        assert (await plain.expect("PRIVMSG")).params[1] == "over tls"
        await plain.send("WHOIS secure")
        assert (await plain.expect(N.RPL_WHOISSECURE)).params[1] == "secure"
    logged = [r.getMessage() for r in caplog.records]
    assert "connect from 127.0.0.1 (TLS)" in logged and "connect from 127.0.0.1 (plain)" in logged
    assert any(m.startswith("registered secure (~secure) from 127.0.0.1 (TLS)") for m in logged)


async def test_plaintext_on_the_tls_port_does_not_hurt(tmp_path: Path, make_server) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    config = {"tls": {"listen": ["127.0.0.1:0"], "cert": "cert.pem", "key": "key.pem"}}
    async with make_server(config) as srv:
        confused = await RawClient.connect(srv.tls_port)
        await confused.send("NICK oops", "USER a 0 * :b")
        await confused.read_until_closed()
        fine = await RawClient.connect(srv.port)
        welcome = await fine.register("fine")
        assert welcome[0].command == "001"
