"""``chghost``: ``CHGHOST <nick> <username> <host>``, for IRC operators.

``chghost_feature(app)`` is listed by ``ircish.app.build_server`` always. The
new username and host are the user's from then on: WHO, WHOIS, USERHOST, the
source of its lines, and every ban, exception and invite-exception mask is
matched against the new ``nick!user@host``.

Who is told (IRCv3 chghost): the clients with the capability that share a
channel with the user, or monitor it with extended-monitor (``monitor.audience``,
as for AWAY and SETNAME), the user too if it has it, get
``:nick!old_user@old_host CHGHOST new_user new_host``. Channel peers without the
capability get the spec's fallback, a simulated reconnect: one QUIT
("Changing host") from the old mask, then for each shared channel a JOIN from
the new one, the prefixes back as a server MODE, and AWAY for away-notify. The
user itself is told its new host with 396 either way.
"""

from __future__ import annotations

import ipaddress
import logging
from string import ascii_letters, digits
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.core.monitor import audience

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.chghost")

CAP = "chghost"
RPL_VISIBLEHOST = "396"
# A host as IRC shows it: a DNS name, an IPv4 or IPv6 address, or a cloak with
# slashes (user/alice). No '@', '!', '*' or space: it is part of every mask.
HOST_LENGTH = 63
_HOST_CHARS = frozenset(ascii_letters + digits + ".-:/")
_USER_CHARS = frozenset(ascii_letters + digits + "-_.")


def valid_username(name: str, max_length: int) -> bool:
    """The characters USER keeps (``~`` only in front, ident's mark), within USERLEN."""
    body = name[1:] if name.startswith("~") else name
    return 0 < len(name) <= max_length and bool(body) and set(body) <= _USER_CHARS


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be a user's host, or None if it can.

    As Solanum's CHGHOST: not empty, at most HOSTLEN, no ':' in front (it would
    start a trailing parameter), and no digit right after the last '/' (a cloak
    like ``user/24`` would read as a CIDR block). As Ergo's vhosts, which allow
    no ':' at all, a ':' is kept only in an IPv6 address, the one host that has
    them: ``y.z:`` is neither a name nor an address.
    """
    if not 0 < len(host) <= HOST_LENGTH:
        return f"A host is 1 to {HOST_LENGTH} characters"
    if not set(host) <= _HOST_CHARS:
        return "A host is letters, digits, '.', '-', ':' or '/'"
    if host[0] in ":.-/":
        return "A host cannot begin with ':', '.', '-' or '/'"
    if ":" in host and not _is_ipv6(host):
        return "A ':' belongs only in an IPv6 address"
    _, slash, last = host.rpartition("/")
    if slash and last[:1].isdigit():
        return "A digit after the last '/' would make the host look like a CIDR block"
    return None


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def chghost(server: Server, user: User, msg: Message) -> None:
    nick, username, host = msg.params[0], msg.params[1], msg.params[2]
    target = server.find_user(nick)
    if target is None or not target.registered:
        server.numeric(user, N.ERR_NOSUCHNICK, nick, "No such nick/channel")
        return
    if not valid_username(username, server.limits.user_length):
        server.fail(user, "CHGHOST", "INVALID_USERNAME", username,
                    f"A username is 1 to {server.limits.user_length} letters, digits, "
                    "'-', '_' or '.' (with '~' in front at most)")
        return
    problem = host_problem(host)
    if problem is not None:
        server.fail(user, "CHGHOST", "INVALID_HOSTNAME", host, problem)
        return
    if (username, host) == (target.username, target.host):
        server.fail(user, "CHGHOST", "UNCHANGED", target.nick,
                    f"{target.nick} already is {username}@{host}")
        return
    old = target.source
    change_host(server, target, username, host)
    log.info("%s changed the host of %s from %s to %s", user.source, target.nick, old,
             target.source)
    if target is not user:
        server.send_from_server(user, "NOTICE", user.nick,
                                f"*** {target.nick} is now {target.source}")


def change_host(server: Server, target: User, username: str, host: str) -> None:
    """``target`` becomes ``nick!username@host``; everyone who knows it is told."""
    old = target.source
    told = audience(server, target, CAP)
    fallback = [p for p in server.peers(target) if p is not target and CAP not in p.caps]
    target.username = username
    target.host = host
    target.set_nick(target.nick)  # the source, from the new parts
    line = server.new_line("CHGHOST", [username, host], old, sender=target)
    server.relay_members(told, line)
    server.emit(events.HostEvent(line.msgid, server.micros(line.ts), old, target.nick,
                                 username, host))
    if fallback:
        simulate_reconnect(server, target, old, fallback)
    server.numeric(target, RPL_VISIBLEHOST, host, "is now your displayed host")


def simulate_reconnect(server: Server, target: User, old: str, peers: list[User]) -> None:
    """The spec's fallback: a QUIT from the old mask and a JOIN (with the prefixes
    and the away state) into each shared channel from the new one."""
    send = server.replies.send
    quit_line = server.new_line("QUIT", ["Changing host"], old, sender=target)
    for peer in peers:
        send(peer, quit_line.for_mask(peer.tagmask))
    waiting = set(peers)
    for channel in target.channels.values():
        members = [m for m in channel.members if m in waiting]
        if not members:
            continue
        join = server.new_line("JOIN", [channel.name], target.source, sender=target)
        held = channel.members.get(target, "")
        for member in members:
            send(member, join.for_mask(member.tagmask))
            if held:
                server.send_from_server(member, "MODE", channel.name, "+" + held,
                                        *[target.nick] * len(held))
    watchers = [p for p in peers if "away-notify" in p.caps]
    if target.away is not None and watchers:
        # As after a real JOIN: away-notify clients learn it is still away.
        server.relay(watchers, "AWAY", [target.away], target.source)


CHGHOST_HELP = (
    "CHGHOST <nick> <username> <host>\n"
    "IRC operators: change a user's username and host (what WHO, WHOIS and bans\n"
    "see). Clients with the chghost capability are told with CHGHOST, the others\n"
    "see the user quit and rejoin."
)


def chghost_feature(app: IrcServer) -> Extension:
    return Extension(
        name="chghost",
        commands=(Command("CHGHOST", chghost, min_params=3, oper_only=True,
                          help=CHGHOST_HELP),),
        capabilities={CAP: ""},
    )
