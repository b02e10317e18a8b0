"""SCRAM-SHA-256 (RFC 5802, RFC 7677) for the server side, as pure functions.

The server never stores a password, not even a hash a client could replay: it
keeps ``StoredKey = H(HMAC(SaltedPassword, "Client Key"))`` and ``ServerKey =
HMAC(SaltedPassword, "Server Key")``. A login then costs the server two HMACs
and a hash, whatever the iteration count: the PBKDF2 work is the client's.

``Exchange`` is one login's state: ``first(client_first)`` gives the
server-first message once the account's credentials are known, ``final``
checks the proof and gives the server's signature. Every malformed message is a
``ScramError`` naming what was wrong; nothing here raises anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

MECHANISM = "SCRAM-SHA-256"
# RFC 7677 asks for at least 4096; more slows every client's login, not ours.
DEFAULT_ITERATIONS = 4096
MAX_ITERATIONS = 1_000_000


class ScramError(Exception):
    """The client's message is not valid SCRAM, or its proof is wrong."""


@dataclass(frozen=True, slots=True)
class ScramCredentials:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    # RFC 5802 asks for SASLprep; a password is taken as its UTF-8 bytes here,
    # which is what common clients send for passwords without unusual code points.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def derive(password: str, salt: bytes | None = None,
           iterations: int = DEFAULT_ITERATIONS) -> ScramCredentials:
    """The stored credentials for ``password`` (PBKDF2: run it off the event loop)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = salted_password(password, salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return ScramCredentials(
        salt, iterations, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key")
    )


def _attributes(message: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=" or not part[0].isalpha():
            raise ScramError(f"malformed attribute {part[:20]!r}")
        out.setdefault(part[0], part[2:])
    return out


def _unescape_name(name: str) -> str:
    # "=2C" and "=3D" are the only escapes; any other "=" is an error (RFC 5802 5.1).
    out = name.replace("=2C", ",").replace("=3D", "=")
    if "=" in name.replace("=2C", "").replace("=3D", ""):
        raise ScramError("malformed username")
    return out


@dataclass(frozen=True, slots=True)
class ClientFirst:
    gs2_header: str
    username: str
    nonce: str
    bare: str


def parse_client_first(message: str) -> ClientFirst:
    parts = message.split(",", 2)
    if len(parts) != 3:
        raise ScramError("client-first-message is incomplete")
    cbind, authzid, bare = parts
    if cbind not in ("n", "y"):
        # "p=...": channel binding, which this server does not offer.
        raise ScramError("channel binding is not supported")
    if authzid and not authzid.startswith("a="):
        raise ScramError("malformed authzid")
    attrs = _attributes(bare)
    if "m" in attrs:
        raise ScramError("mandatory extension not supported")
    name, nonce = attrs.get("n"), attrs.get("r")
    if not name or not nonce:
        raise ScramError("client-first-message lacks a username or nonce")
    if not nonce.isprintable() or "," in nonce:
        raise ScramError("malformed nonce")
    return ClientFirst(f"{cbind},{authzid},", _unescape_name(name), nonce, bare)


class Exchange:
    """One SCRAM-SHA-256 login, after the client-first message was parsed."""

    def __init__(self, client_first: ClientFirst, credentials: ScramCredentials,
                 server_nonce: str | None = None) -> None:
        self.client_first = client_first
        self.credentials = credentials
        self.nonce = client_first.nonce + (server_nonce or secrets.token_urlsafe(18))
        salt = base64.b64encode(credentials.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={credentials.iterations}"

    def final(self, message: str) -> str:
        """Check the client-final message; the server-final message, or ScramError."""
        without_proof, sep, proof_b64 = message.rpartition(",p=")
        if not sep:
            raise ScramError("client-final-message lacks a proof")
        attrs = _attributes(without_proof)
        expected_cbind = base64.b64encode(self.client_first.gs2_header.encode()).decode()
        if attrs.get("c") != expected_cbind:
            raise ScramError("channel binding data does not match")
        if attrs.get("r") != self.nonce:
            raise ScramError("nonce mismatch")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ScramError("malformed proof") from exc
        auth_message = ",".join((self.client_first.bare, self.server_first, without_proof))
        signature = _hmac(self.credentials.stored_key, auth_message.encode())
        if len(proof) != len(signature):
            raise ScramError("malformed proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(),
                                   self.credentials.stored_key):
            raise ScramError("wrong password")
        server_signature = _hmac(self.credentials.server_key, auth_message.encode())
        return "v=" + base64.b64encode(server_signature).decode()
