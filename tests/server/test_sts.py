"""The sts policy in CAP LS: a port on plain text, a duration on TLS, none without TLS."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from ircish.config import ConfigError, config_from_dict
from tests.ircclient import RawClient


def tls_config(tmp_path: Path, **tls: Any) -> tuple[dict[str, Any], ssl.SSLContext]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    section = {"listen": ["127.0.0.1:0"], "cert": "cert.pem", "key": "key.pem", **tls}
    return {"tls": section}, client_ctx


async def cap_ls(client: RawClient, version: str = "302") -> dict[str, str]:
    await client.send(f"CAP LS {version}".strip())
    caps: dict[str, str] = {}
    while True:
        reply = await client.expect("CAP")
        for token in reply.params[-1].split():
            name, _, value = token.partition("=")
            caps[name] = value
        if reply.params[2] != "*":
            return caps


async def test_plain_text_is_told_the_tls_port_and_tls_the_duration(
    tmp_path: Path, make_server
) -> None:
    config, client_ctx = tls_config(tmp_path, sts_duration=3600)
    async with make_server(config) as srv:
        plain = await RawClient.connect(srv.port)
        assert (await cap_ls(plain))["sts"] == f"port={srv.tls_port},duration=3600"
        stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", srv.tls_port,
                                                     ssl_context=client_ctx)
        secure = RawClient(stream)
        assert (await cap_ls(secure))["sts"] == "duration=3600"
        # Clients may not ask for it: it is a policy, not a mode of the connection.
        await secure.send("CAP REQ sts")
        assert (await secure.expect("CAP")).params[1] == "NAK"


async def test_default_duration_is_a_day(tmp_path: Path, make_server) -> None:
    config, _ = tls_config(tmp_path)
    async with make_server(config) as srv:
        plain = await RawClient.connect(srv.port)
        assert (await cap_ls(plain))["sts"] == f"port={srv.tls_port},duration=86400"


async def test_duration_zero_turns_sts_off(tmp_path: Path, make_server) -> None:
    config, _ = tls_config(tmp_path, sts_duration=0)
    async with make_server(config) as srv:
        plain = await RawClient.connect(srv.port)
        assert "sts" not in await cap_ls(plain)


async def test_no_sts_without_a_tls_listener(server) -> None:
    plain = await RawClient.connect(server.port)
    assert "sts" not in await cap_ls(plain)


async def test_no_sts_value_for_pre_302_clients(tmp_path: Path, make_server) -> None:
    # Before 302 a capability has no value, and sts without one says nothing.
    config, _ = tls_config(tmp_path)
    async with make_server(config) as srv:
        plain = await RawClient.connect(srv.port)
        assert "sts" not in await cap_ls(plain, version="")


def test_negative_duration_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tls\.sts_duration"):
        config_from_dict({"tls": {"sts_duration": -1}}, path=tmp_path / "c.toml",
                         base_dir=tmp_path)
