"""Network bans: K-lines (``user@host`` masks) and D-lines (an IP or a CIDR block).

The rule only: which bans exist, which one a connection matches, when each
expires. No I/O and no clock of its own; the caller hands it the time in
integer microseconds (``Server.micros``). Storing them (``store/bans``) and
acting on them (refusing, killing: ``ircish/netbans``) happen elsewhere.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.closing import closing_link
from ircish.core.masks import mask_matches
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

log = logging.getLogger("ircish.core.bans")

KLINE = "K"
DLINE = "D"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"([0-9]+)([smhdw])")
# A year is long enough for a timed ban; longer means permanent (no duration).
MAX_DURATION = 366 * 86400
_MASK_CHARS = re.compile(r"[^\s,!@]+")
_MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Ban:
    kind: str  # KLINE or DLINE
    mask: str  # normalised: "user@host" casefolded, or an ipaddress network's text
    reason: str
    set_by: str
    set_at: int  # micros
    expires: int = 0  # micros; 0 never

    def expired(self, now: int) -> bool:
        return bool(self.expires) and now >= self.expires


def parse_duration(text: str) -> int | None:
    """Seconds for ``300``, ``30m``, ``2h``, ``1d``, ``1d12h``; None if not a duration."""
    seconds = parse_decimal(text, minimum=1, maximum=MAX_DURATION)
    if seconds is not None:
        return seconds
    lowered = text.lower()
    parts = _PART.findall(lowered)
    if not parts or "".join(n + u for n, u in parts) != lowered:
        return None
    total = 0
    for number, unit in parts:
        value = parse_decimal(number, maximum=MAX_DURATION)
        if value is None:
            return None
        total += value * _UNITS[unit]
    return total if 0 < total <= MAX_DURATION else None


def parse_kline_mask(text: str) -> str | None:
    """The normalised ``user@host`` mask, or None for anything else.

    A mask of wildcards only on both sides would ban everyone (the oper too),
    so it is refused.
    """
    user, at, host = text.partition("@")
    if not at or not _MASK_CHARS.fullmatch(user) or not _MASK_CHARS.fullmatch(host):
        return None
    if not user.strip("*?") and not host.strip("*?"):
        return None
    return f"{user}@{host}".lower()


def parse_dline_mask(text: str) -> str | None:
    """The normalised network of an IP or CIDR block, or None (a /0 is refused)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if network.prefixlen == 0:
        return None
    return str(network)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class BanList:
    def __init__(self) -> None:
        self._bans: dict[tuple[str, str], Ban] = {}

    def add(self, ban: Ban) -> Ban | None:
        """Adds or replaces a ban; answers the one replaced."""
        key = (ban.kind, ban.mask)
        old = self._bans.get(key)
        self._bans[key] = ban
        return old

    def remove(self, kind: str, mask: str) -> Ban | None:
        return self._bans.pop((kind, mask), None)

    def active(self, kind: str, now: int) -> list[Ban]:
        return sorted((b for b in self._bans.values() if b.kind == kind and not b.expired(now)),
                      key=lambda b: b.mask)

    def expire(self, now: int) -> list[Ban]:
        """Removes and answers the bans whose time is up."""
        gone = [b for b in self._bans.values() if b.expired(now)]
        for ban in gone:
            del self._bans[(ban.kind, ban.mask)]
        return gone

    def next_expiry(self) -> int | None:
        times = [b.expires for b in self._bans.values() if b.expires]
        return min(times) if times else None

    def match_ip(self, ip: str, now: int) -> Ban | None:
        if not self._bans:
            return None  # every connection asks: parsing its address is not free
        address = _ip(ip)
        if address is None:
            return None
        for ban in self._bans.values():
            if ban.kind == DLINE and not ban.expired(now):
                if address in ipaddress.ip_network(ban.mask):
                    return ban
        return None

    def match_user(self, username: str, host: str, ip: str, now: int) -> Ban | None:
        """The D-line or K-line (tried against the host and the IP) this client matches."""
        if not self._bans:
            return None
        ban = self.match_ip(ip, now)
        if ban is not None:
            return ban
        # "~" marks a user name no ident server vouched for; ``bob@*`` means ~bob too.
        names = {username, username.removeprefix("~")}
        candidates = {f"{n}@{h}".lower() for n in names for h in (host, ip)}
        for ban in self._bans.values():
            if ban.kind == KLINE and not ban.expired(now):
                if any(mask_matches(ban.mask, c) for c in candidates):
                    return ban
        return None


def expires_after(now: int, seconds: int | None) -> int:
    return now + seconds * _MICROS if seconds else 0


def quit_reason(ban: Ban) -> str:
    return f"{ban.kind}-Lined ({ban.reason})"


def refuse(server: Server, user: User, ban: Ban) -> None:
    """A connection that matches a ban: told why, then closed."""
    log.info("refused %s from %s: %s-line %s (%s)", user.username or "*", user.ip,
             ban.kind, ban.mask, ban.reason)
    server.numeric(user, N.ERR_YOUREBANNEDCREEP, f"You are banned from this server: {ban.reason}")
    server.kill(user, quit_reason(ban), closing_link(user.host, quit_reason(ban)))


def enforce(server: Server, ban: Ban) -> list[User]:
    """Disconnects the clients a new ban matches (bots and services are never banned)."""
    now = server.micros(server.clock())
    probe = BanList()
    probe.add(ban)
    hit = [u for u in server.connections if not u.bot and (
        probe.match_user(u.username, u.host, u.ip, now) if u.username
        else probe.match_ip(u.ip, now)) is not None]
    for user in hit:
        log.info("killed %s (%s) from %s: %s-line %s (%s)", user.nick, user.username, user.ip,
                 ban.kind, ban.mask, ban.reason)
        server.kill(user, quit_reason(ban), closing_link(user.host, quit_reason(ban)))
    return hit
