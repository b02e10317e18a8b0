"""SCRAM-SHA-256 (RFC 5802, RFC 7677) for the client side, as pure string work.

The key derivation is the server's own (``ircish.accounts.scram.salted_password``),
so a password is encoded exactly as the ircish server encoded it when it stored
the account's keys. What the client adds is its half of the exchange: the
client-first message with a fresh nonce, the proof, and the check of the
server's signature, which is what tells us the server really holds our keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from ircish.accounts.scram import DEFAULT_ITERATIONS, MAX_ITERATIONS, salted_password

# A server asking for fewer rounds than RFC 7677's minimum makes a captured
# exchange cheaper to crack offline; one asking for millions would freeze the
# client's event loop while PBKDF2 runs.
MIN_ITERATIONS = DEFAULT_ITERATIONS


class ScramFailure(Exception):
    """The server's SCRAM message is malformed, refuses us, or its signature is wrong."""


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def escape_name(name: str) -> str:
    # RFC 5802 5.1: "," and "=" in a username are written =2C and =3D.
    return name.replace("=", "=3D").replace(",", "=2C")


def _attributes(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if len(key) != 1 or not sep:
            raise ScramFailure(f"malformed attribute {part[:20]!r} from the server")
        out.setdefault(key, value)
    return out


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ScramFailure(f"the server's {what} is not base64") from None


class ScramClient:
    """One login: :meth:`first`, then :meth:`final` with the server-first
    message, then :meth:`verify` with the server-final message."""

    def __init__(self, username: str, password: str, nonce: str | None = None) -> None:
        self._password = password
        self.nonce = nonce or secrets.token_urlsafe(18)
        self.client_first_bare = f"n={escape_name(username)},r={self.nonce}"
        self._server_signature: bytes | None = None

    def __repr__(self) -> str:
        return f"<ScramClient nonce={self.nonce!r}>"  # never the password

    def first(self) -> str:
        # "n,,": no channel binding, no authorization identity.
        return "n,," + self.client_first_bare

    def final(self, server_first: str) -> str:
        attrs = _attributes(server_first)
        if "m" in attrs:
            raise ScramFailure("the server asks for a SCRAM extension we do not know")
        nonce, salt_b64, rounds = attrs.get("r", ""), attrs.get("s", ""), attrs.get("i", "")
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce):
            raise ScramFailure("the server's nonce does not extend ours")
        salt = _b64decode(salt_b64, "salt")
        if not rounds.isdigit():
            raise ScramFailure(f"the server's iteration count {rounds[:12]!r} is not a number")
        iterations = int(rounds)
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ScramFailure(
                f"the server asks for {iterations} iterations "
                f"(accepted: {MIN_ITERATIONS} to {MAX_ITERATIONS})"
            )
        salted = salted_password(self._password, salt, iterations)
        self._password = ""  # not needed again; keep it in memory no longer than this
        client_key = _hmac(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + nonce  # biws: base64 of "n,,"
        auth_message = f"{self.client_first_bare},{server_first},{without_proof}".encode()
        signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}"

    def verify(self, server_final: str) -> None:
        """Raise :class:`ScramFailure` unless the server proved it knows our keys."""
        if self._server_signature is None:
            raise ScramFailure("server-final message before server-first")
        attrs = _attributes(server_final)
        if "e" in attrs:
            raise ScramFailure(f"the server refused the login: {attrs['e']}")
        signature = _b64decode(attrs.get("v", ""), "signature")
        if not hmac.compare_digest(signature, self._server_signature):
            raise ScramFailure(
                "the server's signature does not match: it does not hold this account's "
                "keys (a different server, or someone in between)"
            )
