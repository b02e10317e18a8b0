"""How a history target is named in the database.

Channels and nicks are compared case-insensitively on IRC, so every lookup goes
through the server's casemapping. A private conversation belongs to both of its
parties, so it is keyed by the pair of folded nicks, sorted: alice writing to bob
and bob writing to alice land under the same key. Nicks and channel names never
contain a space, so a space-joined pair can collide with neither.
"""

from __future__ import annotations

from ircish.protocol import casefold

# The server advertises CHANTYPES=#; anything else is a nick.
DEFAULT_CHANTYPES = "#"


def channel_key(channel: str) -> str:
    return casefold(channel)


def nick_key(nick: str) -> str:
    return casefold(nick)


def dm_key(nick_a: str, nick_b: str) -> str:
    a, b = sorted((casefold(nick_a), casefold(nick_b)))
    return f"{a} {b}"


def is_channel_name(name: str, chantypes: str = DEFAULT_CHANTYPES) -> bool:
    return bool(name) and name[0] in chantypes
