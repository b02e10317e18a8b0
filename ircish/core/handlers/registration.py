"""Connection registration and the lines allowed before it: CAP, PASS, NICK, USER,
PING, PONG, QUIT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.bans import refuse
from ircish.core.closing import closing_link
from ircish.core.nicks import banned_channel, rename, valid_nick
from ircish.core.state import TAG_ACCOUNT, TAG_EXTENDED_JOIN, TAG_MESSAGE_TAGS, TAG_SERVER_TIME
from ircish.core.sts import sts_value
from ircish.protocol.casemap import casefold
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

_CAP_TAGMASK = {
    "server-time": TAG_SERVER_TIME,
    "message-tags": TAG_MESSAGE_TAGS,
    "account-tag": TAG_ACCOUNT,
    "extended-join": TAG_EXTENDED_JOIN,
}


def try_finish_registration(server: Server, user: User) -> None:
    if user.registered or user.cap_negotiating or not user.username or user.nick == "*":
        return
    if not user.password_ok:
        server.numeric(user, N.ERR_PASSWDMISMATCH, "Password incorrect")
        server.kill(user, "Bad password", closing_link(user.host, "Bad password"))
        return
    ban = server.bans.match_user(user.username, user.host, user.ip,
                                 server.micros(server.clock()))
    if ban is not None:
        refuse(server, user, ban)
        return
    # Another connection may have registered this nick while we were negotiating.
    holder = server.users.get(user.key)
    if holder is not None and holder is not user:
        server.numeric(user, N.ERR_NICKNAMEINUSE, user.nick, "Nickname is already in use")
        return
    claims = server.nick_claims
    if claims is not None and not claims.holds(user, user.key):
        claims.claim(user, user.nick, lambda: try_finish_registration(server, user))
        return
    server.welcome(user)


def cap(server: Server, user: User, msg: Message) -> None:
    sub = msg.params[0].upper()
    nick = user.nick
    if sub == "LS":
        if not user.registered:
            user.cap_negotiating = True
        version = msg.param(1)
        user.cap_version = max(user.cap_version, parse_decimal(version) or 0)
        if user.cap_version >= 302:
            user.caps.add("cap-notify")  # implied by 302, per the spec
        tokens = [
            f"{name}={value}" if value and user.cap_version >= 302 else name
            for name, value in sorted(server.capabilities.items())
        ]
        policy = sts_value(server, user) if user.cap_version >= 302 else None
        if policy is not None:
            tokens.append(f"sts={policy}")
        # CAP LS 302 may span lines: every line but the last carries a "*".
        budget = 400 if user.cap_version >= 302 else 0
        line: list[str] = []
        size = 0
        for token in tokens:
            if line and budget and size + len(token) + 1 > budget:
                server.send_from_server(user, "CAP", nick, "LS", "*", " ".join(line))
                line, size = [], 0
            line.append(token)
            size += len(token) + 1
        server.send_from_server(user, "CAP", nick, "LS", " ".join(line))
    elif sub == "LIST":
        server.send_from_server(user, "CAP", nick, "LIST", " ".join(sorted(user.caps)))
    elif sub == "REQ":
        if not user.registered:
            user.cap_negotiating = True
        requested = msg.param(1).split()
        changes: list[tuple[str, bool]] = []
        for token in requested:
            enable = not token.startswith("-")
            name = token.lstrip("-")
            if name not in server.capabilities:
                server.send_from_server(user, "CAP", nick, "NAK", msg.param(1))
                return
            changes.append((name, enable))
        old_mask = user.tagmask
        dropped: list[str] = []
        for name, enable in changes:
            if enable:
                user.caps.add(name)
                user.tagmask |= _CAP_TAGMASK.get(name, 0)
            else:
                if name in user.caps:
                    dropped.append(name)
                user.caps.discard(name)
                user.tagmask &= ~_CAP_TAGMASK.get(name, 0)
        if user.tagmask != old_mask:
            for channel in user.channels.values():
                channel.regroup(user, old_mask)
        server.send_from_server(user, "CAP", nick, "ACK", msg.param(1))
        for name in dropped:
            if name not in user.caps:  # "-a a" in one REQ ends with it held
                for listener in server.cap_dropped_listeners:
                    listener(server, user, name)
    elif sub == "END":
        if not user.registered and user.cap_negotiating:
            user.cap_negotiating = False
            try_finish_registration(server, user)
    else:
        server.numeric(user, "410", sub, "Invalid CAP command")


def pass_(server: Server, user: User, msg: Message) -> None:
    if user.registered:
        server.numeric(user, N.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    import hmac

    expected = server.config.server.password
    user.password_ok = not expected or hmac.compare_digest(msg.params[0], expected)


def nick(server: Server, user: User, msg: Message) -> None:
    new = msg.param(0)
    if not new:
        server.numeric(user, N.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    if not valid_nick(new, server.limits.nick_length):
        server.numeric(user, N.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return
    key = casefold(new)
    if not user.registered:
        user.wanted_nick = new
    holder = server.users.get(key)
    if holder is not None and holder is not user:
        server.numeric(user, N.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
        return
    if not user.registered:
        user.set_nick(new)
        try_finish_registration(server, user)
        return
    if new == user.nick:
        return
    banned_in = banned_channel(user)
    if banned_in is not None:
        server.numeric(user, N.ERR_BANNICKCHANGE, new, banned_in.name,
                       "Cannot change nickname while banned on channel")
        return
    claims = server.nick_claims
    if claims is not None and not claims.holds(user, key):
        claims.claim(user, new, lambda: nick(server, user, msg))
        return
    rename(server, user, new)


def user_(server: Server, user: User, msg: Message) -> None:
    if user.registered:
        server.numeric(user, N.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if not msg.params[0] or not msg.params[3]:
        # Modern: an empty username or realname is rejected like a missing one.
        server.numeric(user, N.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    username = "".join(ch for ch in msg.params[0] if ch.isalnum() or ch in "-_.")
    # The server does no ident lookup, so the name is marked as unverified; the
    # "~" counts towards USERLEN.
    username = username[: max(server.limits.user_length - 1, 1)] or "user"
    user.username = "~" + username
    user.realname = msg.params[3][: server.limits.realname_length]
    if user.nick != "*":
        user.set_nick(user.nick)
    try_finish_registration(server, user)


def ping(server: Server, user: User, msg: Message) -> None:
    if not msg.params or not msg.params[0]:
        server.numeric(user, N.ERR_NOORIGIN, "No origin specified")
        return
    server.send_from_server(user, "PONG", server.name, msg.params[0])


def pong(server: Server, user: User, msg: Message) -> None:
    # Any line proves the client is alive; the shell tracks that, nothing to do here.
    return


def quit_(server: Server, user: User, msg: Message) -> None:
    reason = server.fit_trailing(f":{user.source} QUIT :Quit: ", msg.param(0))
    quit_reason = f"Quit: {reason}" if reason else "Client Quit"
    error = server.fit_trailing("ERROR :", closing_link(user.host, quit_reason))
    server.kill(user, quit_reason, error)
