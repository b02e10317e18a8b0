"""SASL for the client, sans-IO: which mechanism, and the AUTHENTICATE framing.

IRC carries SASL as base64 in ``AUTHENTICATE`` lines of at most 400 bytes; a
message of exactly a multiple of 400 ends with ``AUTHENTICATE +``, as does an
empty one. The session drives the exchange; this module holds the parts that
are plain functions of their input.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

from ircish.client.scram import ScramClient

CHUNK = 400
SCRAM = "SCRAM-SHA-256"
PLAIN = "PLAIN"
PREFERRED = (SCRAM, PLAIN)  # SCRAM never shows the server the password

# The numerics that end an exchange (IRCv3 sasl-3.1).
FAILURES = {
    "902": "the nick is locked",
    "904": "authentication failed",
    "905": "the SASL message was too long",
    "906": "the login was aborted",
}


@dataclass(frozen=True)
class SaslSettings:
    """Who to log in as, and what the user allows."""

    account: str
    password: str = field(repr=False)
    # Stop (no reconnects) rather than stay connected without the login.
    required: bool = False
    # PLAIN shows the password to anyone on the path unless the link is TLS.
    allow_plain: bool = False


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_is_safe(host: str, tls: bool, tls_verify: bool, allowed_anyway: bool) -> bool:
    """PLAIN only over checked TLS, to this machine, or when the user said so."""
    return (tls and tls_verify) or is_loopback(host) or allowed_anyway


def offered_mechanisms(cap_value: str) -> list[str] | None:
    """The ``sasl=`` capability value as a list; None when the server did not say."""
    names = [name.strip().upper() for name in cap_value.split(",") if name.strip()]
    return names or None


def choose(offered: list[str] | None, tried: set[str], allow_plain: bool) -> str | None:
    """The best mechanism not tried yet; with no list, SCRAM first (a 908 tells the rest)."""
    for name in PREFERRED:
        if name in tried or (offered is not None and name not in offered):
            continue
        if name == PLAIN and not allow_plain:
            continue
        return name
    return None


def encode_response(data: bytes) -> list[str]:
    """The ``AUTHENTICATE`` parameters that carry ``data``."""
    text = base64.b64encode(data).decode("ascii")
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    if not chunks or len(chunks[-1]) == CHUNK:
        chunks.append("+")
    return chunks


class ChallengeReader:
    """Joins a server message split over ``AUTHENTICATE`` lines."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def feed(self, param: str) -> bytes | None:
        """The whole message once its last line is in, else None; ValueError if not base64."""
        if param != "+":
            self._parts.append(param)
            if len(param) == CHUNK:
                return None
        text, self._parts = "".join(self._parts), []
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the server's SASL data is not base64") from None


class Mechanism(Protocol):
    name: str

    def respond(self, challenge: bytes) -> bytes | None:
        """The answer to the server's next message; None when the exchange
        expects nothing more from us (the server's 903 or 904 comes next).
        Raises ``ScramFailure`` to abort."""
        ...


class Plain:
    name = PLAIN

    def __init__(self, account: str, password: str) -> None:
        self._payload = b"\0" + account.encode() + b"\0" + password.encode()

    def __repr__(self) -> str:
        return "<Plain>"

    def respond(self, challenge: bytes) -> bytes | None:
        payload, self._payload = self._payload, b""
        return payload if payload else None


class Scram:
    name = SCRAM

    def __init__(self, account: str, password: str, nonce: str | None = None) -> None:
        self.client = ScramClient(account, password, nonce)
        self._step = 0

    def respond(self, challenge: bytes) -> bytes | None:
        self._step += 1
        text = challenge.decode("utf-8", "replace")
        if self._step == 1:
            return self.client.first().encode()
        if self._step == 2:
            return self.client.final(text).encode()
        if self._step == 3:
            self.client.verify(text)
            return b""  # the empty response that lets the server send 903
        return None


def mechanism(name: str, settings: SaslSettings) -> Mechanism:
    if name == SCRAM:
        return Scram(settings.account, settings.password)
    return Plain(settings.account, settings.password)
