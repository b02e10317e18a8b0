"""Channel membership and information: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.masks import mask_matches
from ircish.protocol.casemap import casefold
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message

log = logging.getLogger("ircish.core")

_BAD_CHANNEL_CHARS = frozenset(" ,\x07\x00\r\n")

def valid_channel_name(name: str, max_length: int) -> bool:
    return (
        1 < len(name) <= max_length
        and name[0] == "#"
        and not any(ch in _BAD_CHANNEL_CHARS for ch in name)
    )


def is_banned(channel: Channel, user: User) -> bool:
    if not channel.bans:
        return False
    return any(mask_matches(mask, user.source) for mask, _, _ in channel.bans)


def banned_channel(user: User) -> Channel | None:
    """A channel where ``user`` is banned and not voiced or opped, if there is one.

    Such a user may not speak there (``can_send``), so a nick change that moved
    them out of the ban's mask would let them speak again: NICK is refused.
    """
    for channel in user.channels.values():
        if channel.bans and not channel.members.get(user) and is_banned(channel, user):
            return channel
    return None


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


def part_all(server: Server, user: User) -> None:
    for channel in list(user.channels.values()):
        leave(server, user, channel, "part", "Left all channels", user.source, "PART",
              [channel.name])


def leave(
    server: Server, user: User, channel: Channel, kind: str, reason: str, source: str,
    verb: str, params: list[str], by: str | None = None,
) -> None:
    ts = server.clock()
    line = server.relay_channel(channel, verb, params, source, ts=ts)
    server.remove_member(channel, user)
    server.emit(events.LeaveEvent(line.msgid, server.now_dt(ts), user.source, user.nick,
                                  channel.name, kind, reason, by))  # type: ignore[arg-type]


def join(server: Server, user: User, msg: Message) -> None:
    if msg.params[0] == "0":
        part_all(server, user)
        return
    names = msg.params[0].split(",")
    keys = msg.param(1).split(",") if len(msg.params) > 1 else []
    for i, name in enumerate(names):
        if not name:
            continue
        key = keys[i] if i < len(keys) else ""
        join_one(server, user, name, key)


def join_one(server: Server, user: User, name: str, key: str = "") -> None:
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
        invited = user.key in channel.invited
        error = None
        if channel.limit is not None and len(channel.members) >= channel.limit and not invited:
            error = (N.ERR_CHANNELISFULL, "Cannot join channel (+l)")
        elif "i" in channel.modes and not invited:
            error = (N.ERR_INVITEONLYCHAN, "Cannot join channel (+i)")
        elif channel.password is not None and key != channel.password and not invited:
            error = (N.ERR_BADCHANNELKEY, "Cannot join channel (+k)")
        elif is_banned(channel, user) and not invited:
            error = (N.ERR_BANNEDFROMCHAN, "Cannot join channel (+b)")
        if error:
            server.numeric(user, error[0], channel.name, error[1])
            return
    if channel is None:
        channel = server.get_or_create_channel(name)
    # The first one in gets ops, also in an empty persistent channel.
    empty = not channel.members
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
    send_names(server, user, channel)
    server.emit(events.JoinEvent(line.msgid, server.now_dt(ts), user.source, user.nick,
                                 user.account, channel.name))
    for listener in server.join_listeners:
        try:
            listener(server, user, channel)
        except Exception:
            log.exception("join listener failed for %s in %s", user.nick, channel.name)


def joined_channel(server: Server, user: User, name: str) -> Channel | None:
    """The channel ``name`` if ``user`` is on it; otherwise answer 403 or 442."""
    channel = server.find_channel(name)
    if channel is None:
        server.numeric(user, N.ERR_NOSUCHCHANNEL, name, "No such channel")
    elif channel.key not in user.channels:
        server.numeric(user, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
    else:
        return channel
    return None


def part(server: Server, user: User, msg: Message) -> None:
    reason = msg.param(1)
    for name in msg.params[0].split(","):
        if not name:
            continue
        channel = joined_channel(server, user, name)
        if channel is None:
            continue
        said = server.fit_trailing(f":{user.source} PART {channel.name} :", reason)
        params = [channel.name, said] if said else [channel.name]
        leave(server, user, channel, "part", said, user.source, "PART", params)


def topic(server: Server, user: User, msg: Message) -> None:
    channel = server.find_channel(msg.params[0])
    if channel is None:
        server.numeric(user, N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    is_member = channel.key in user.channels
    if len(msg.params) < 2:
        if not is_member and "s" in channel.modes:
            server.numeric(user, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
            return
        send_topic(server, user, channel)
        return
    if not is_member:
        server.numeric(user, N.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "t" in channel.modes and not channel.is_op(user) and not user.oper:
        server.numeric(user, N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    text = msg.params[1][: server.limits.topic_length]
    ts = server.clock()
    channel.topic = text
    channel.topic_setter = user.source
    channel.topic_time = ts
    line = server.relay_channel(channel, "TOPIC", [channel.name, text], user.source, ts=ts)
    server.emit(events.TopicEvent(line.msgid, server.now_dt(ts), user.source, user.nick,
                                  channel.name, text))
    server.channel_state_changed(channel)


def names(server: Server, user: User, msg: Message) -> None:
    if not msg.params or not msg.params[0]:
        server.numeric(user, N.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in msg.params[0].split(","):
        channel = server.find_channel(name)
        if channel is None or ("s" in channel.modes and channel.key not in user.channels):
            server.numeric(user, N.RPL_ENDOFNAMES, name, "End of /NAMES list")
            continue
        send_names(server, user, channel)


def list_(server: Server, user: User, msg: Message) -> None:
    server.numeric(user, N.RPL_LISTSTART, "Channel", "Users  Name")
    # ELIST=MNU: masks (any of them), "!mask" (none of them), ">n" / "<n" users.
    masks: list[str] = []
    not_masks: list[str] = []
    more_than, fewer_than = -1, None
    for term in msg.param(0).split(","):
        n = parse_decimal(term[1:]) if term[:1] in ("<", ">") else None
        if n is not None:
            if term[0] == ">":
                more_than = max(more_than, n)
            else:
                fewer_than = n if fewer_than is None else min(fewer_than, n)
        elif term.startswith("!") and len(term) > 1:
            not_masks.append(term[1:])
        elif term:
            masks.append(term)
    for channel in list(server.channels.values()):
        if "s" in channel.modes and channel.key not in user.channels:
            continue
        if masks and not any(mask_matches(p, channel.name) for p in masks):
            continue
        if any(mask_matches(p, channel.name) for p in not_masks):
            continue
        if len(channel.members) <= more_than or (
            fewer_than is not None and len(channel.members) >= fewer_than
        ):
            continue
        visible = len(channel.members)
        server.numeric(user, N.RPL_LIST, channel.name, str(visible), channel.topic)
    server.numeric(user, N.RPL_LISTEND, "End of /LIST")


def kick(server: Server, user: User, msg: Message) -> None:
    # "KICK #a u1,u2" kicks both from #a; "KICK #a,#b u1,u2" pairs them up (RFC 2812).
    names = msg.params[0].split(",")
    nicks = msg.params[1].split(",")
    if len(names) == 1:
        names = names * len(nicks)
    elif len(names) != len(nicks):
        server.numeric(user, N.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")
        return
    # Targets past TARGMAX are dropped silently, as Modern allows.
    pairs = [(c, n) for c, n in zip(names, nicks, strict=True) if c and n]
    pairs = pairs[: server.limits.targets_per_message]
    reason = (msg.param(2) or user.nick)[: server.limits.kick_length]
    refused: set[str] = set()
    for name, nick in pairs:
        channel = server.find_channel(name)
        if channel is None:
            if name not in refused:
                refused.add(name)
                server.numeric(user, N.ERR_NOSUCHCHANNEL, name, "No such channel")
            continue
        if channel.key not in user.channels:
            if name not in refused:
                refused.add(name)
                server.numeric(user, N.ERR_NOTONCHANNEL, channel.name,
                               "You're not on that channel")
            continue
        if not channel.is_op(user) and not user.oper:
            if name not in refused:
                refused.add(name)
                server.numeric(user, N.ERR_CHANOPRIVSNEEDED, channel.name,
                               "You're not channel operator")
            continue
        target = server.find_user(nick)
        if target is None or target not in channel.members:
            server.numeric(user, N.ERR_USERNOTINCHANNEL, nick, channel.name,
                           "They aren't on that channel")
            continue
        leave(server, target, channel, "kick", reason, user.source, "KICK",
              [channel.name, target.nick, reason], by=user.source)


def invite(server: Server, user: User, msg: Message) -> None:
    nick, name = msg.params[0], msg.params[1]
    target = server.find_user(nick)
    if target is None:
        server.numeric(user, N.ERR_NOSUCHNICK, nick, "No such nick/channel")
        return
    channel = joined_channel(server, user, name)
    if channel is None:
        return
    if "i" in channel.modes and not channel.is_op(user):
        server.numeric(user, N.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    if target in channel.members:
        server.numeric(user, N.ERR_USERONCHANNEL, target.nick, channel.name,
                       "is already on channel")
        return
    channel.invited.add(target.key)
    server.numeric(user, N.RPL_INVITING, target.nick, channel.name)
    server.send_line(target, f":{user.source} INVITE {target.nick} {channel.name}")
    if target.away is not None:
        server.numeric(user, N.RPL_AWAY, target.nick, target.away)
