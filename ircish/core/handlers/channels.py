"""Channel membership and information: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE.

Who may join, and what joining and leaving do, are ``ircish.core.membership``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.masks import mask_matches
from ircish.core.membership import join_one, leave, part_all, send_names, send_topic
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message


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
    server.emit(events.TopicEvent(line.msgid, server.micros(ts), user.source, user.nick,
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
    # One line for the one invited and the watchers: other nodes replay it as is.
    line = server.relay([target], "INVITE", [target.nick, channel.name], user.source)
    if target.away is not None:
        server.numeric(user, N.RPL_AWAY, target.nick, target.away)
    # invite-notify: members who could invite there themselves (operators only,
    # on a +i channel) and asked to be told.
    watchers = [
        m for m in channel.members
        if m is not user and "invite-notify" in m.caps
        and ("i" not in channel.modes or channel.is_op(m))
    ]
    if watchers:
        server.relay_members(watchers, line)
    server.emit(events.InviteEvent(line.msgid, server.micros(line.ts), user.source, user.nick,
                                   target.nick, channel.name))
