"""Client sides of SASL for the tests (and the benchmark): PLAIN and SCRAM-SHA-256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from tests.ircclient import RawClient


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def plain(account: str, password: str) -> str:
    return b64(f"\0{account}\0{password}".encode())


class ScramClient:
    """The client half of RFC 5802 for SHA-256, written from the RFC."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.nonce = secrets.token_urlsafe(18)
        self.bare = f"n={user},r={self.nonce}"
        self.server_signature = b""

    def first(self) -> str:
        return "n,," + self.bare

    def final(self, server_first: str) -> str:
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{self.bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored, auth, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth, hashlib.sha256).digest()
        return f"{without_proof},p={b64(proof)}"


async def sasl_plain(client: RawClient, account: str, password: str) -> str:
    """PLAIN on a connection that negotiated ``sasl``; the final numeric."""
    await client.send("AUTHENTICATE PLAIN")
    if (await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))).command == "904":
        return "904"
    await client.send(f"AUTHENTICATE {plain(account, password)}")
    msg = await client.expect(lambda m: m.command in ("903", "904", "905", "906", "907"))
    return msg.command


async def sasl_scram(client: RawClient, account: str, password: str) -> str:
    scram = ScramClient(account, password)
    await client.send("AUTHENTICATE SCRAM-SHA-256")
    if (await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))).command == "904":
        return "904"
    await client.send(f"AUTHENTICATE {b64(scram.first().encode())}")
    msg = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
    if msg.command == "904":
        return "904"
    final = scram.final(base64.b64decode(msg.params[-1]).decode())
    await client.send(f"AUTHENTICATE {b64(final.encode())}")
    msg = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
    if msg.command == "904":
        return "904"
    assert base64.b64decode(msg.params[-1]) == b"v=" + base64.b64encode(scram.server_signature)
    await client.send("AUTHENTICATE +")
    msg = await client.expect(lambda m: m.command in ("903", "904"))
    return msg.command


async def start_sasl(port: int, nick: str) -> RawClient:
    """A connection that negotiated ``sasl`` and has not finished registration."""
    client = await RawClient.connect(port)
    client.nick = nick
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
    await client.send("CAP REQ :sasl")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    return client


async def finish(client: RawClient) -> None:
    await client.send("CAP END")
    await client.expect("376")
