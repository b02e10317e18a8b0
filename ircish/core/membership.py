"""Who is on which channel: the checks on joining, and joining and leaving.

JOIN, PART, KICK, a bot's join and ``JOIN 0`` all change membership here, so a
join is refused for the same reasons (and announced the same way) whoever asks.
A joining user is told the topic and the names list as part of the join (no
names for a client with ``no-implicit-names``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.extension import JoinListener
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

log = logging.getLogger("ircish.core")

_BAD_CHANNEL_CHARS = frozenset(" ,\x07\x00\r\n")


def valid_channel_name(name: str, max_length: int) -> bool:
    return (
        1 < len(name) <= max_length
        and name[0] == "#"
        and not any(ch in _BAD_CHANNEL_CHARS for ch in name)
    )


def join_refusal(channel: Channel, user: User, key: str) -> tuple[str, str] | None:
    """Why ``user`` may not join ``channel`` with ``key``, as (numeric, text); None
    if they may. An invitation lets them past every one of these checks."""
    if user.key in channel.invited:
        return None
    if channel.limit is not None and len(channel.members) >= channel.limit:
        return N.ERR_CHANNELISFULL, "Cannot join channel (+l)"
    if "i" in channel.modes and not channel.is_invite_excepted(user):
        return N.ERR_INVITEONLYCHAN, "Cannot join channel (+i)"
    if channel.password is not None and key != channel.password:
        return N.ERR_BADCHANNELKEY, "Cannot join channel (+k)"
    if channel.is_banned(user):
        return N.ERR_BANNEDFROMCHAN, "Cannot join channel (+b)"
    return None


def join_one(server: Server, user: User, name: str, key: str = "") -> None:
    """Join ``user`` to channel ``name``, or answer why not."""
    if not valid_channel_name(name, server.limits.channel_length):
        server.numeric(user, N.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    folded = casefold(name)
    if folded in user.channels:
        return
    if len(user.channels) >= server.limits.channels_per_client:
        server.numeric(user, N.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    channel = server.channels.get(folded)
    created = channel is None or (not channel.members and not channel.persistent)
    if channel is not None:
        refusal = join_refusal(channel, user, key)
        if refusal is not None:
            server.numeric(user, refusal[0], channel.name, refusal[1])
            return
    if channel is None:
        channel = server.get_or_create_channel(name)
    # The first one in gets ops, also in an empty +P channel; a registered one
    # waits for its founder (ChanServ ops them).
    empty = not channel.members and channel.founder is None
    channel.add_member(user, "o" if (created or empty) else "")
    user.channels[folded] = channel
    channel.invited.discard(user.key)
    ts = server.clock()
    line = server.relay_channel(channel, "JOIN", [channel.name], user.source, ts=ts)
    if user.away is not None:
        # away-notify: members learn at once that the one joining is away.
        watchers = [m for m in channel.members if m is not user and "away-notify" in m.caps]
        if watchers:
            server.relay(watchers, "AWAY", [user.away], user.source, ts=ts)
    if channel.topic:
        send_topic(server, user, channel)
    _call(server.names_listeners, server, user, channel)
    if "no-implicit-names" not in user.caps:
        send_names(server, user, channel)
    server.emit(events.JoinEvent(line.msgid, server.micros(ts), user.source, user.nick,
                                 user.account, channel.name, user.realname))
    _call(server.join_listeners, server, user, channel)


def _call(listeners: tuple[JoinListener, ...], server: Server, user: User,
          channel: Channel) -> None:
    for listener in listeners:
        try:
            listener(server, user, channel)
        except Exception:
            log.exception("join listener failed for %s in %s", user.nick, channel.name)


def leave(
    server: Server, user: User, channel: Channel, kind: str, reason: str, source: str,
    verb: str, params: list[str], by: str | None = None,
) -> None:
    """``user`` leaves ``channel`` (a PART or a KICK): the members are told with
    ``verb params`` from ``source``, then the user is gone."""
    ts = server.clock()
    line = server.relay_channel(channel, verb, params, source, ts=ts)
    server.remove_member(channel, user)
    server.emit(events.LeaveEvent(line.msgid, server.micros(ts), user.source, user.nick,
                                  channel.name, kind, reason, by))  # type: ignore[arg-type]


def part_all(server: Server, user: User) -> None:
    for channel in list(user.channels.values()):
        leave(server, user, channel, "part", "Left all channels", user.source, "PART",
              [channel.name])


def send_names(server: Server, user: User, channel: Channel) -> None:
    multi = "multi-prefix" in user.caps
    full = "userhost-in-names" in user.caps
    symbol = "@" if "s" in channel.modes else "="
    # Secret and invisible rules: a non-member sees only visible (-i) members.
    is_member = channel.key in user.channels
    head = f":{server.name} {N.RPL_NAMREPLY} {user.nick} {symbol} {channel.name} :"
    budget = server.line_budget - len(head.encode())
    names: list[str] = []
    size = 0
    for member, held in channel.members.items():
        if not is_member and "i" in member.modes:
            continue
        prefix = channel.prefix_of(member, multi) if held else ""
        name = prefix + (member.source if full else member.nick)
        if size + len(name) + 1 > budget and names:
            server.send_line(user, head + " ".join(names))
            names, size = [], 0
        names.append(name)
        size += len(name) + 1
    if names:
        server.send_line(user, head + " ".join(names))
    server.numeric(user, N.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


def send_topic(server: Server, user: User, channel: Channel) -> None:
    if channel.topic:
        server.numeric(user, N.RPL_TOPIC, channel.name, channel.topic)
        server.numeric(user, N.RPL_TOPICWHOTIME, channel.name, channel.topic_setter,
                       str(int(channel.topic_time)))
    else:
        server.numeric(user, N.RPL_NOTOPIC, channel.name, "No topic is set")
