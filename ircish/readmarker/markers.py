"""Read markers on the server's side: whose markers a connection shares, and the rules.

A connection logged in to an account shares one ``Markers`` with every other
connection of that account (and the database keeps them); a connection without
an account has a ``Markers`` of its own, kept for as long as it is connected.
A marker only moves forward, and never past the server's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircish.core.state import User

# Targets one account (or connection) may keep a marker for; a client cannot
# grow the table without bound.
MAX_TARGETS = 1000


class Markers:
    """One account's (or one connection's) markers: folded target -> µs."""

    __slots__ = ("__weakref__", "account", "loaded", "sessions", "times")

    def __init__(self, account: str | None) -> None:
        self.account = account  # casefolded, or None for a connection's own
        self.times: dict[str, int] = {}
        # The connections sharing these markers (pruned as they go).
        self.sessions: set[User] = set()
        # Whether the stored markers have been read in (always so without an account).
        self.loaded = account is None

    def advance(self, key: str, micros: int) -> tuple[int | None, bool]:
        """Move ``key``'s marker to ``micros`` unless it is already later: the
        marker now, and whether it changed; (None, False) when full."""
        old = self.times.get(key)
        if old is None and len(self.times) >= MAX_TARGETS:
            return None, False
        if old is not None and old >= micros:
            return old, False
        self.times[key] = micros
        return micros, True

    def merge(self, stored: tuple[tuple[str, int], ...]) -> list[str]:
        """Take in the stored markers, each kept only if later; the keys that moved."""
        moved = []
        for key, micros in stored:
            old = self.times.get(key)
            if old is None or micros > old:
                self.times[key] = micros
                moved.append(key)
        self.loaded = True
        return moved

    def rename(self, old: str, new: str) -> None:
        """A channel's key changed (RENAME): its marker follows, and the marker of
        an earlier channel of the new name goes (as in the store)."""
        if old == new:
            return
        moved = self.times.pop(old, None)
        self.times.pop(new, None)
        if moved is not None:
            self.times[new] = moved
