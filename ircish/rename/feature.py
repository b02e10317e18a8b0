"""``draft/channel-rename``: ``RENAME <channel> <new name> [:reason]``.

``rename_feature(app)`` is listed by ``ircish.app.build_server`` always. A rename
keeps the channel itself, with its members and their prefixes, modes, topic,
+b/+e/+I lists, invitations and ChanServ founder; only its name (and casefolded
key) changes. Who may: the channel's operators, and IRC operators from anywhere; a
registered channel only its founder (or an IRC operator). Channels listed in
``[channels] auto_join`` are not renamed (the config would bring the old name
back).

A multiline batch open to the channel follows it to its new name
(``ircish.multiline.assembly.follow_rename``).

Members with the capability get one ``RENAME`` line; the others, as the spec's
fallback, a PART of the old name and a JOIN burst (topic, names) of the new one,
except when only the case changes. The old name is free at once: there is no
redirection, and a new channel of that name starts with no history.

A ``RenameEvent`` tells the listeners: the history worker moves the stored
lines, the channel's stored state, its registration and its read markers to the
new key (``ircish.store.writer``; on a network node the network worker does, in
the commit stream of the channel's lines, ``ircish.network.channel_rows``), so
CHATHISTORY on the new name returns what was said under the old one; history,
read markers, ChanServ, redaction and the plugins re-key what they keep in memory.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.core.membership import send_names, send_topic, valid_channel_name
from ircish.multiline.assembly import follow_rename
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.rename")

CAP = "draft/channel-rename"


def refusal(server: Server, user: User, channel: Channel, new: str) -> bool:
    """Answer why ``user`` may not rename ``channel`` to ``new``; False if it may."""
    old = channel.name
    if not user.oper:
        if user not in channel.members:
            server.numeric(user, N.ERR_NOTONCHANNEL, old, "You're not on that channel")
            return True
        if not channel.is_op(user):
            server.numeric(user, N.ERR_CHANOPRIVSNEEDED, old, "You're not channel operator")
            return True
        if channel.founder is not None and (
                user.account is None or casefold(user.account) != casefold(channel.founder)):
            server.fail(user, "RENAME", "CANNOT_RENAME", old, new,
                        "Only the channel's founder can rename a registered channel")
            return True
    if not new.startswith("#"):
        server.fail(user, "RENAME", "CANNOT_RENAME", old, new,
                    "You cannot change a channel prefix type")
        return True
    if not valid_channel_name(new, server.limits.channel_length):
        server.numeric(user, N.ERR_BADCHANMASK, new, "Bad Channel Mask")
        return True
    if new == old:
        server.fail(user, "RENAME", "CANNOT_RENAME", old, new, "The channel already has that name")
        return True
    taken = server.channels.get(casefold(new))
    if taken is not None and taken is not channel:
        server.fail(user, "RENAME", "CHANNEL_NAME_IN_USE", old, new,
                    "The channel name is already taken")
        return True
    if any(casefold(name) == channel.key for name in server.config.channels.auto_join):
        server.fail(user, "RENAME", "CANNOT_RENAME", old, new,
                    "The server's configuration joins clients to this channel by its name")
        return True
    return False


def rename_channel(server: Server, channel: Channel, new: str) -> None:
    """Give ``channel`` the name ``new`` (already checked to be free)."""
    old_key, new_key = channel.key, casefold(new)
    channel.name = new
    follow_rename(server, old_key, new)
    if old_key == new_key:
        return
    channel.key = new_key
    del server.channels[old_key]
    server.channels[new_key] = channel
    for member in channel.members:
        member.channels.pop(old_key, None)
        member.channels[new_key] = channel


def rename(server: Server, user: User, msg: Message) -> None:
    channel = server.find_channel(msg.params[0])
    if channel is None:
        server.numeric(user, N.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    new = msg.params[1]
    if refusal(server, user, channel, new):
        return
    old = channel.name
    reason = server.fit_trailing(f":{user.source} RENAME {old} {new} :", msg.param(2))
    case_only = casefold(old) == casefold(new)
    line = server.new_line("RENAME", [old, new, reason], user.source, sender=user)
    rename_channel(server, channel, new)
    log.info("%s renamed %s to %s", user.source, old, new)
    # Before anyone is told: the JOIN bursts below read state keyed by the new name
    # (read markers), which the listeners move.
    server.emit(events.RenameEvent(line.msgid, server.micros(line.ts), user.source, user.nick,
                                   old, new, reason))
    server.channel_state_changed(channel)
    told = [m for m in channel.members if CAP in m.caps]
    if user not in channel.members and CAP in user.caps:
        told.append(user)
    server.relay_members(told, line)
    if not case_only:
        part_text = reason or f"Channel renamed to {new}"
        for member in list(channel.members):
            if CAP not in member.caps:
                fallback(server, member, channel, old, part_text)
    if user not in channel.members and CAP not in user.caps:
        server.send_from_server(user, "NOTICE", user.nick, f"*** {old} is now {new}")


def fallback(server: Server, member: User, channel: Channel, old: str, reason: str) -> None:
    """The spec's fallback for a member without the capability: it leaves the old
    name and joins the new one, with the burst a JOIN brings."""
    send = server.replies.send
    said = server.fit_trailing(f":{member.source} PART {old} :", reason)
    part = server.new_line("PART", [old, said], member.source, sender=member)
    send(member, part.for_mask(member.tagmask))
    join = server.new_line("JOIN", [channel.name], member.source, sender=member)
    send(member, join.for_mask(member.tagmask))
    if channel.topic:
        send_topic(server, member, channel)
    for listener in server.names_listeners:
        try:
            listener(server, member, channel)
        except Exception:
            log.exception("names listener failed for %s in %s", member.nick, channel.name)
    if "no-implicit-names" not in member.caps:
        send_names(server, member, channel)


RENAME_HELP = (
    "RENAME <channel> <new name> [:reason]\n"
    "Rename a channel you operate (IRCv3 draft/channel-rename); it keeps its\n"
    "members, modes, topic, lists and history. A registered channel: its founder\n"
    "only. IRC operators may rename any channel."
)


def rename_feature(app: IrcServer) -> Extension:
    return Extension(
        name="rename",
        commands=(Command("RENAME", rename, min_params=2, help=RENAME_HELP),),
        capabilities={CAP: ""},
    )
