"""MONITOR (IRCv3 monitor): ``+``, ``-``, ``C``, ``L`` and ``S`` on the caller's list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.monitor import nick_lines
from ircish.core.nicks import valid_nick
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message


def monitor(server: Server, user: User, msg: Message) -> None:
    sub = msg.params[0]
    step = _SUBCOMMANDS.get(sub.upper())
    if step is None:
        server.numeric(user, N.ERR_UNKNOWNERROR, "MONITOR", sub, "Unknown MONITOR subcommand")
        return
    step(server, user, msg)


def _targets(server: Server, user: User, msg: Message) -> list[str] | None:
    if len(msg.params) < 2 or not msg.params[1].strip(","):
        server.numeric(user, N.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters")
        return None
    return [t for t in msg.params[1].split(",") if t]


def _add(server: Server, user: User, msg: Message) -> None:
    targets = _targets(server, user, msg)
    if targets is None:
        return
    index = server.monitors
    limit = server.limits.monitor_entries
    online: list[str] = []
    offline: list[str] = []
    for i, target in enumerate(targets):
        if not valid_nick(target, server.limits.nick_length):
            # Only nicks: a mask would let a client follow someone across renames.
            server.numeric(user, N.ERR_ERRONEUSNICKNAME, target, "Erroneous nickname")
            continue
        mine = index.targets(user)
        if len(mine) >= limit and casefold(target) not in mine:
            server.numeric(user, N.ERR_MONLISTFULL, str(limit), ",".join(targets[i:]),
                           "Monitor list is full.")
            break
        index.add(user, target)
        holder = server.find_user(target)
        if holder is not None:
            online.append(holder.source)
        else:
            offline.append(target)
    _status(server, user, online, offline)


def _remove(server: Server, user: User, msg: Message) -> None:
    targets = _targets(server, user, msg)
    if targets is None:
        return
    for target in targets:
        server.monitors.remove(user, target)


def _clear(server: Server, user: User, msg: Message) -> None:
    server.monitors.clear(user)


def _list(server: Server, user: User, msg: Message) -> None:
    names = []
    for sent in server.monitors.targets(user).values():
        holder = server.find_user(sent)
        names.append(holder.nick if holder is not None else sent)
    for line in nick_lines(names):
        server.numeric(user, N.RPL_MONLIST, line)
    server.numeric(user, N.RPL_ENDOFMONLIST, "End of MONITOR list")


def _show_status(server: Server, user: User, msg: Message) -> None:
    online: list[str] = []
    offline: list[str] = []
    for sent in server.monitors.targets(user).values():
        holder = server.find_user(sent)
        if holder is not None:
            online.append(holder.source)
        else:
            offline.append(sent)
    _status(server, user, online, offline)


def _status(server: Server, user: User, online: list[str], offline: list[str]) -> None:
    for line in nick_lines(online):
        server.numeric(user, N.RPL_MONONLINE, line)
    for line in nick_lines(offline):
        server.numeric(user, N.RPL_MONOFFLINE, line)


_SUBCOMMANDS = {
    "+": _add,
    "-": _remove,
    "C": _clear,
    "L": _list,
    "S": _show_status,
}
