"""Questions about users and the server: WHO, WHOIS, WHOWAS, ISON, USERHOST, AWAY,
MOTD, VERSION, TIME, LUSERS, INFO, LINKS, ADMIN."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ircish import __version__
from ircish.core import events, whox
from ircish.core import numerics as N
from ircish.core.masks import mask_matches
from ircish.core.monitor import audience
from ircish.core.state import BOT_MODE
from ircish.core.whox import WhoxQuery
from ircish.protocol.casemap import casefold
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message


def _who_reply(
    server: Server, user: User, target: User, channel: Channel | None,
    query: WhoxQuery | None = None,
) -> None:
    flags = "G" if target.away is not None else "H"
    if target.oper:
        flags += "*"
    if BOT_MODE in target.modes:
        flags += BOT_MODE
    if channel is not None:
        flags += channel.prefix_of(target, "multi-prefix" in user.caps)
    if query is not None:
        server.numeric(user, N.RPL_WHOSPCRPL,
                       *whox.reply_params(server, user, target, channel, flags, query))
        return
    name = channel.name if channel is not None else "*"
    server.numeric(user, N.RPL_WHOREPLY, name, target.username, target.host,
                   target.home or server.name, target.nick, flags, f"0 {target.realname}")


def elsewhere(server: Server, user: User, target: str) -> bool:
    """A query aimed at another server answers 402; ours may be named by its name,
    a mask matching it, or the nick of a user on it. On a network, this node
    answers for the other nodes too (it has their users in its replica)."""
    if not target or mask_matches(target, server.name) or server.find_user(target):
        return False
    if any(mask_matches(target, name) for name in server.linked):
        return False
    server.numeric(user, N.ERR_NOSUCHSERVER, target, "No such server")
    return True


def who(server: Server, user: User, msg: Message) -> None:
    mask = asked = msg.param(0, "*") or "*"
    try:
        query = whox.parse_options(msg.param(1))
    except whox.BadToken:
        server.fail(user, "WHO", "INVALID_PARAMS", msg.param(1),
                    "A WHOX token is one to three digits")
        server.numeric(user, N.RPL_ENDOFWHO, asked, "End of /WHO list")
        return
    opers_only = query.opers_only if query is not None else msg.param(1) == "o"
    if mask.startswith("#"):
        channel = server.find_channel(mask)
        if channel is not None and ("s" not in channel.modes or channel.key in user.channels):
            visible_all = channel.key in user.channels
            for member in channel.members:
                if (visible_all or "i" not in member.modes) and (
                    not opers_only or member.oper
                ):
                    _who_reply(server, user, member, channel, query)
    else:
        exact = server.find_user(mask)
        if exact is not None:
            _who_reply(server, user, exact, None, query)
        else:
            if mask == "0":
                mask = "*"
            shared = server.peers(user)
            for other in list(server.users.values()):
                if "i" in other.modes and other not in shared:
                    continue
                if opers_only and not other.oper:
                    continue
                if any(mask_matches(mask, field) for field in
                       (other.nick, other.username, other.host, other.realname,
                        other.home or server.name)):
                    _who_reply(server, user, other, None, query)
    server.numeric(user, N.RPL_ENDOFWHO, asked, "End of /WHO list")


def whois(server: Server, user: User, msg: Message) -> None:
    if len(msg.params) > 1 and elsewhere(server, user, msg.params[0]):
        return
    nicks = msg.params[-1]
    for nick in nicks.split(",")[:1]:
        target = server.find_user(nick)
        if target is None:
            server.numeric(user, N.ERR_NOSUCHNICK, nick, "No such nick/channel")
            server.numeric(user, N.RPL_ENDOFWHOIS, nick, "End of /WHOIS list")
            continue
        server.numeric(user, N.RPL_WHOISUSER, target.nick, target.username, target.host, "*",
                       target.realname)
        visible = [
            channel.prefix_of(target, "multi-prefix" in user.caps) + channel.name
            for channel in target.channels.values()
            if "s" not in channel.modes or channel.key in user.channels
        ]
        if visible:
            server.numeric(user, N.RPL_WHOISCHANNELS, target.nick, " ".join(visible))
        server.numeric(user, N.RPL_WHOISSERVER, target.nick, target.home or server.name,
                       server.config.server.description)
        if target.away is not None:
            server.numeric(user, N.RPL_AWAY, target.nick, target.away)
        if target.account is not None:
            server.numeric(user, N.RPL_WHOISACCOUNT, target.nick, target.account,
                           "is logged in as")
        if target.oper:
            server.numeric(user, N.RPL_WHOISOPERATOR, target.nick, "is an IRC operator")
        if BOT_MODE in target.modes:
            server.numeric(user, N.RPL_WHOISBOT, target.nick,
                           f"is a bot on {server.config.server.network}")
        if target.secure:
            server.numeric(user, N.RPL_WHOISSECURE, target.nick, "is using a secure connection")
        if user is target or user.oper:
            server.numeric(user, N.RPL_WHOISHOST, target.nick,
                           f"is connecting from {target.username}@{target.host} {target.ip}")
        now = server.clock()
        server.numeric(user, N.RPL_WHOISIDLE, target.nick, str(int(now - target.last_active)),
                       str(int(target.connected_at)), "seconds idle, signon time")
        for listener in server.whois_listeners:
            listener(server, user, target)
        server.numeric(user, N.RPL_ENDOFWHOIS, target.nick, "End of /WHOIS list")


def whowas(server: Server, user: User, msg: Message) -> None:
    nick = msg.params[0]
    # Zero, negative or no count: every entry (Modern IRC).
    count = parse_decimal(msg.param(1), signed=True) or 0
    key = casefold(nick)
    wildcard = "*" in nick or "?" in nick
    found = 0
    for old_nick, username, host, realname, when in reversed(server.whowas):
        if wildcard:
            if not mask_matches(nick, old_nick):
                continue
        elif casefold(old_nick) != key:
            continue
        server.numeric(user, N.RPL_WHOWASUSER, old_nick, username, host, "*", realname)
        server.numeric(user, N.RPL_WHOISSERVER, old_nick, server.name,
                       time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(when)))
        found += 1
        if count > 0 and found >= count:
            break
    if not found:
        server.numeric(user, N.ERR_WASNOSUCHNICK, nick, "There was no such nickname")
    server.numeric(user, N.RPL_ENDOFWHOWAS, nick, "End of WHOWAS")


def ison(server: Server, user: User, msg: Message) -> None:
    words = " ".join(msg.params).split()
    online = [u.nick for u in (server.find_user(w) for w in words) if u is not None]
    server.numeric(user, N.RPL_ISON, " ".join(online))


def userhost(server: Server, user: User, msg: Message) -> None:
    replies = []
    for nick in msg.params[:5]:
        target = server.find_user(nick)
        if target is not None:
            oper = "*" if target.oper else ""
            away = "-" if target.away is not None else "+"
            replies.append(f"{target.nick}{oper}={away}{target.username}@{target.host}")
    server.numeric(user, N.RPL_USERHOST, " ".join(replies))


def away(server: Server, user: User, msg: Message) -> None:
    text = msg.param(0)[: server.limits.away_length]
    user.away = text or None
    if text:
        server.numeric(user, N.RPL_NOWAWAY, "You have been marked as being away")
    else:
        server.numeric(user, N.RPL_UNAWAY, "You are no longer marked as being away")
    watchers = [u for u in audience(server, user, "away-notify") if u is not user]
    line = server.relay(watchers, "AWAY", [text] if text else [], user.source)
    server.emit(events.AwayEvent(line.msgid, server.micros(line.ts), user.source, user.nick,
                                 user.away))


def motd(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(0)):
        return
    server.send_motd(user)


def lusers(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(1)):
        return
    server.send_lusers(user)


def version(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(0)):
        return
    server.numeric(user, N.RPL_VERSION, f"ircish-{__version__}", server.name,
                   "Python/Trio IRC server")
    server.send_isupport(user)


def time_(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(0)):
        return
    now = server.clock()
    server.numeric(user, N.RPL_TIME, server.name, str(int(now)), "0",
                   time.strftime("%A %B %d %Y -- %H:%M:%S +00:00", time.gmtime(now)))


def info(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(0)):
        return
    for line in (
        f"ircish {__version__}: an IRC server in Python on Trio.",
        "History in SQLite through SQLAlchemy; plugins through pluggy.",
        f"Running since {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(server.started))}.",
    ):
        server.numeric(user, N.RPL_INFO, line)
    server.numeric(user, N.RPL_ENDOFINFO, "End of INFO list")


def links(server: Server, user: User, msg: Message) -> None:
    # Itself, hop count 0, and on a network the other live nodes, one hop away
    # (every node sees every other through the shared database).
    mask = msg.params[-1] if msg.params else "*"
    description = server.config.server.description
    if mask_matches(mask, server.name):
        server.numeric(user, N.RPL_LINKS, server.name, server.name, f"0 {description}")
    for name in sorted(server.linked):
        if mask_matches(mask, name):
            server.numeric(user, N.RPL_LINKS, name, server.name, f"1 {description}")
    server.numeric(user, N.RPL_ENDOFLINKS, mask, "End of /LINKS list")


def admin(server: Server, user: User, msg: Message) -> None:
    if elsewhere(server, user, msg.param(0)):
        return
    cfg = server.config.server
    server.numeric(user, N.RPL_ADMINME, server.name, "Administrative info")
    server.numeric(user, N.RPL_ADMINLOC1, cfg.description)
    server.numeric(user, N.RPL_ADMINLOC2, cfg.admin_location or cfg.network)
    server.numeric(user, N.RPL_ADMINEMAIL, cfg.admin_email or "-")
