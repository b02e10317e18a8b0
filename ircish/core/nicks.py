"""Nick policy: which nicks are valid, and when a registered user may change theirs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ircish.core import events, monitor
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

_NICK_RE = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*\Z")


class NickClaims(Protocol):
    """Nicks held beyond this server (a network of nodes, ``ircish.network``).

    Registration and NICK ask ``holds`` before they take a nick; if not, ``claim``
    asks the network and answers later: ``then()`` on the loop when the nick is
    this user's, 433 from the claimer itself when another node's user has it.
    """

    def holds(self, user: User, key: str) -> bool: ...

    def claim(self, user: User, nick: str, then: Callable[[], None]) -> None: ...


def valid_nick(nick: str, max_length: int) -> bool:
    return len(nick) <= max_length and _NICK_RE.match(nick) is not None


def banned_channel(user: User) -> Channel | None:
    """A channel where ``user`` is banned and not voiced or opped, if there is one.

    Such a user may not speak there (``Channel.can_send``), so a nick change that
    moved them out of the ban's mask would let them speak again: NICK is refused.
    """
    for channel in user.channels.values():
        if channel.bans and not channel.members.get(user) and channel.is_banned(user):
            return channel
    return None


def rename(server: Server, user: User, new: str) -> None:
    """A registered ``user`` becomes ``new`` (checked already): everyone sharing a
    channel is told, and the old nick goes to WHOWAS."""
    old_source, old_nick = user.source, user.nick
    ts = server.clock()
    line = server.relay(server.peers(user), "NICK", [new], old_source, ts=ts)
    server.whowas.append((user.nick, user.username, user.host, user.realname, ts))
    del server.users[user.key]
    user.set_nick(new)
    server.users[user.key] = user
    if casefold(old_nick) != user.key:  # a change of case is no news to MONITOR
        monitor.offline(server, old_nick)
        monitor.online(server, user)
    # Pending invitations follow the user, not the nick they were sent to.
    old_key = casefold(old_nick)
    for channel in server.channels.values():
        if old_key in channel.invited:
            channel.invited.discard(old_key)
            channel.invited.add(user.key)
    server.emit(events.NickEvent(line.msgid, server.micros(ts), old_source, old_nick, new,
                                 tuple(c.name for c in user.channels.values())))
