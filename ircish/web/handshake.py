"""What a WebSocket upgrade request is asked: the origin it comes from, the
subprotocol to speak, and whose address it carries (RFC 6455, IRCv3 websocket)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ircish.config import origin_key
from ircish.web.http import Request
from ircish.web.websocket import BINARY, TEXT

log = logging.getLogger("ircish.web")

SUBPROTOCOLS = (BINARY, TEXT)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_upgrade(request: Request) -> bool:
    upgrade = [v.lower() for v in request.header_values(b"upgrade")]
    return "websocket" in upgrade


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


def check_upgrade(request: Request) -> Refusal | None:
    """What is wrong with the request as an RFC 6455 opening handshake, if anything."""
    if request.method != "GET":
        return Refusal(405, "a WebSocket handshake is a GET request", ((b"allow", b"GET"),))
    if "upgrade" not in [v.lower() for v in request.header_values(b"connection")]:
        return Refusal(400, "a WebSocket handshake needs 'Connection: Upgrade'")
    if request.header(b"sec-websocket-version") != "13":
        return Refusal(426, "only WebSocket version 13 is spoken here",
                       ((b"sec-websocket-version", b"13"),))
    key = request.header(b"sec-websocket-key")
    if not key or len(key.strip()) != 24:
        return Refusal(400, "Sec-WebSocket-Key is missing or not 16 bytes in base64")
    return None


def choose_subprotocol(offered: Sequence[str]) -> str | None:
    """The first of the client's offers that we speak (its order is its
    preference); None when it offered none of ours, and then no
    Sec-WebSocket-Protocol is answered and the lines travel as text."""
    for name in offered:
        if name in SUBPROTOCOLS:
            return name
    return None


def origin_allowed(
    origin: str | None, host: str | None, tls: bool, allowed: Sequence[str]
) -> bool:
    """Browsers name the page that opens a socket in Origin; a page of this
    listener itself (same scheme, host and port as Host) is always allowed,
    others only when listed. A request without Origin is not from a browser
    page, which is what the check protects, and passes."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    key = origin_key(origin)
    if key is None:
        return False  # "null" (a sandboxed or file: page) or garbage
    if any(origin_key(entry) == key for entry in allowed if entry != "*"):
        return True
    if not host:
        return False
    return origin_key(("https://" if tls else "http://") + host) == key


def trusted_networks(entries: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
             networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(peer: str, request: Request, networks: Sequence[Network]) -> str:
    """The address the client is known by: the peer's, unless the peer is a
    trusted proxy, then the nearest address in X-Forwarded-For that is not one
    of ours (the rest of the header is the client's own word)."""
    peer_address = _address(peer)
    if not networks or peer_address is None or not _trusted(peer_address, networks):
        return peer
    hops = request.header_values(b"x-forwarded-for")
    found = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            log.info("X-Forwarded-For from proxy %s names %r, not an address: using %s",
                     peer, hop, found)
            return found
        found = str(address)
        if not _trusted(address, networks):
            return found
    return found
