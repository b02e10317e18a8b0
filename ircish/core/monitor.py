"""MONITOR lists (IRCv3 monitor, extended-monitor): who watches which nick.

The index is kept both ways, by watcher and by watched nick (casefolded), so
that a user coming online, leaving or changing nick costs one dict lookup, and
a watcher's list goes with its connection. The server calls ``online`` and
``offline`` from the places where a nick appears or goes (welcome, rename,
disconnect, bot creation); ``audience`` is the one answer to "who hears about
this user's change", for AWAY, ACCOUNT and SETNAME notifications.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

EXTENDED_MONITOR = "extended-monitor"
# Room left for the nick list of 730-732 once ``:server CODE nick :`` is counted.
_LIST_BUDGET = 400


class MonitorIndex:
    __slots__ = ("by_nick", "lists")

    def __init__(self) -> None:
        # Watched nick (casefolded) -> the users watching it.
        self.by_nick: dict[str, dict[User, None]] = {}
        # Watcher -> its targets: casefolded nick -> the nick as the client sent it.
        self.lists: dict[User, dict[str, str]] = {}

    def targets(self, user: User) -> dict[str, str]:
        return self.lists.get(user, {})

    def add(self, user: User, nick: str) -> None:
        key = casefold(nick)
        mine = self.lists.setdefault(user, {})
        if key not in mine:
            mine[key] = nick
            self.by_nick.setdefault(key, {})[user] = None

    def remove(self, user: User, nick: str) -> None:
        key = casefold(nick)
        mine = self.lists.get(user)
        if mine is None or mine.pop(key, None) is None:
            return
        self._unwatch(user, key)
        if not mine:
            del self.lists[user]

    def clear(self, user: User) -> None:
        for key in self.lists.pop(user, {}):
            self._unwatch(user, key)

    def watchers(self, nick: str) -> Iterable[User]:
        return self.by_nick.get(casefold(nick), {}).keys()

    def _unwatch(self, user: User, key: str) -> None:
        watching = self.by_nick.get(key)
        if watching is not None:
            watching.pop(user, None)
            if not watching:
                del self.by_nick[key]


def nick_lines(nicks: Iterable[str], budget: int = _LIST_BUDGET) -> Iterator[str]:
    """``nicks`` joined by commas, in as few lines of at most ``budget`` bytes as fit."""
    line: list[str] = []
    size = 0
    for nick in nicks:
        cost = len(nick.encode()) + 1
        if line and size + cost > budget:
            yield ",".join(line)
            line, size = [], 0
        line.append(nick)
        size += cost
    if line:
        yield ",".join(line)


def online(server: Server, user: User) -> None:
    """``user`` now holds its nick: tell whoever monitors it (730)."""
    watchers = server.monitors.by_nick.get(user.key)
    if watchers:
        for watcher in list(watchers):
            server.numeric(watcher, N.RPL_MONONLINE, user.source)


def offline(server: Server, nick: str) -> None:
    """Nobody holds ``nick`` any more: tell whoever monitors it (731)."""
    watchers = server.monitors.by_nick.get(casefold(nick))
    if watchers:
        for watcher in list(watchers):
            server.numeric(watcher, N.RPL_MONOFFLINE, nick)


def audience(server: Server, user: User, cap: str) -> set[User]:
    """Who hears of a change to ``user`` that ``cap`` announces (away-notify,
    account-notify, setname): everyone sharing a channel and, with
    extended-monitor, everyone monitoring its nick; each only with ``cap``.
    ``user`` is in it if it has ``cap`` itself."""
    found = {peer for peer in server.peers(user) if cap in peer.caps}
    watchers = server.monitors.by_nick.get(user.key)
    if watchers:
        found.update(w for w in watchers if cap in w.caps and EXTENDED_MONITOR in w.caps)
    return found
