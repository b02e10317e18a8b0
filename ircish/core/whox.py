"""WHOX (IRCv3): ``WHO <mask> [<flags>]%<fields>[,<token>]`` answered with 354.

The standard fields, in the order they are sent whatever order they were asked
in, are t c u i h s n f d l a o r. Letters outside that set are ignored, as the
specification asks of fields a server does not support.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

FIELD_ORDER = "tcuihsnfdlaor"
# What a client sees for the IP of someone else (the spec's placeholder).
HIDDEN_IP = "255.255.255.255"
# ircu's default query type, for a 't' asked without a token.
DEFAULT_TOKEN = "0"


@dataclass(frozen=True, slots=True)
class WhoxQuery:
    fields: str  # the standard letters asked for, in FIELD_ORDER
    token: str
    opers_only: bool


class BadToken(ValueError):
    """The token after the comma is not one to three digits."""


def parse_options(option: str) -> WhoxQuery | None:
    """``WHO``'s second parameter: None if it asks for no WHOX fields (no ``%``);
    BadToken if its token is malformed."""
    flags, percent, rest = option.partition("%")
    if not percent:
        return None
    letters, comma, token = rest.partition(",")
    if comma and not (token.isascii() and token.isdigit() and len(token) <= 3):
        raise BadToken(token)
    asked = set(letters.lower())
    fields = "".join(f for f in FIELD_ORDER if f in asked)
    return WhoxQuery(fields, token or DEFAULT_TOKEN, "o" in flags)


def reply_params(
    server: Server, asker: User, target: User, channel: Channel | None, flags: str,
    query: WhoxQuery,
) -> list[str]:
    """The 354 parameters after the asker's nick, exactly the fields asked for."""
    out: list[str] = []
    for field in query.fields:
        if field == "t":
            out.append(query.token)
        elif field == "c":
            out.append(channel.name if channel is not None else "*")
        elif field == "u":
            out.append(target.username)
        elif field == "i":
            # As in WHOIS (378): the address only for the user itself and operators.
            out.append(target.ip if asker is target or asker.oper else HIDDEN_IP)
        elif field == "h":
            out.append(target.host)
        elif field == "s":
            out.append(target.home or server.name)
        elif field == "n":
            out.append(target.nick)
        elif field == "f":
            out.append(flags)
        elif field == "d":
            out.append("0")  # one server: no hops
        elif field == "l":
            out.append(str(max(0, int(server.clock() - target.last_active))))
        elif field == "a":
            out.append(target.account or "0")
        elif field == "o":
            out.append("n/a")  # no channel op levels here
        elif field == "r":
            out.append(target.realname)
    return out
