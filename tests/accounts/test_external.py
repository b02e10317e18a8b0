"""SASL EXTERNAL over TLS with a client certificate no CA of the server's signed."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import trio
import trustme

from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.accounts.test_register import nickserv
from tests.ircclient import RawClient


def fingerprint(cert: trustme.LeafCert) -> str:
    pem = cert.cert_chain_pems[0].bytes().decode()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


async def tls_client(port: int, server_ca: trustme.CA,
                     cert: trustme.LeafCert | None) -> RawClient:
    ctx = ssl.create_default_context()
    server_ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return RawClient(await trio.open_ssl_over_tcp_stream("127.0.0.1", port, ssl_context=ctx))


async def external(client: RawClient, nick: str) -> list[str]:
    """A SASL EXTERNAL attempt before registration; the numerics it got."""
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}",
                      "CAP REQ :sasl", "AUTHENTICATE EXTERNAL")
    await client.expect("AUTHENTICATE")
    await client.send("AUTHENTICATE +")
    done = await client.expect(lambda m: m.command in ("903", "904"))
    return [m.command for m in client.seen if m.command in ("900", "903", "904")] or \
        [done.command]


async def test_external_by_a_self_signed_certificates_fingerprint(tmp_path: Path) -> None:
    server_ca = trustme.CA()
    server_cert = server_ca.issue_cert("127.0.0.1")
    server_cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    server_cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    # The users' certificates come from CAs the server has never heard of.
    mine, other = trustme.CA().issue_cert("pat"), trustme.CA().issue_cert("mallory")
    config = accounts_config({"tls": {"listen": ["127.0.0.1:0"], "cert": "cert.pem",
                                      "key": "key.pem"}})
    async with start_server(tmp_path, config) as srv:
        assert srv.tls_port is not None
        owner = await tls_client(srv.tls_port, server_ca, mine)
        assert "sasl=PLAIN,SCRAM-SHA-256,EXTERNAL" in await owner.cap_ls()
        await owner.send("CAP END")
        await owner.register("pat")
        await owner.send("REGISTER * * pat-password")
        await owner.expect("900")
        # CERT ADD without an argument takes the connection's certificate.
        assert "added" in await nickserv(owner, "CERT ADD")
        assert fingerprint(mine) in await nickserv(owner, "CERT LIST")
        await owner.aclose()

        again = await tls_client(srv.tls_port, server_ca, mine)
        assert await external(again, "pat2") == ["900", "903"]
        assert next(m for m in again.seen if m.command == "900").params[2] == "pat"
        await again.aclose()
        # Another certificate, or none, is not that account.
        for cert in (other, None):
            stranger = await tls_client(srv.tls_port, server_ca, cert)
            assert await external(stranger, "mal") == ["904"]
            await stranger.aclose()
        plain = await RawClient.connect(srv.port)
        assert await external(plain, "plainpat") == ["904"]
        await plain.aclose()


async def test_external_is_not_offered_without_tls(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        client = await RawClient.connect(srv.port)
        assert "sasl=PLAIN,SCRAM-SHA-256" in await client.cap_ls()
        await client.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL")
        assert (await client.expect("908")).params[1] == "PLAIN,SCRAM-SHA-256"
        await client.expect("904")
        await client.aclose()
