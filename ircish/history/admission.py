"""Which events are stored, and how many may wait: the one gate in front of the database.

Every event the core emits passes here once, on the message path: it is kept
when ``[storage] store_events`` asks for its kind, and while fewer than
``[storage] queue_limit`` wait (queued plus not yet committed). Past the limit,
events are dropped rather than letting memory grow without end; the first drop
of an episode is logged at once, and its end with the count. The server's
client of the worker runs it (and an in-process writer, for tests and tools);
the worker's writer takes what arrives as already admitted.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ircish.core.events import (
    ChannelStateEvent,
    Event,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    NickEvent,
    RedactEvent,
    RenameEvent,
    TopicEvent,
)

# Typing notifications are TAGMSGs too, but nobody wants them replayed.
_EPHEMERAL_TAGS = frozenset({"+typing", "+draft/typing"})


class QueueStats(Protocol):
    submitted: int
    dropped_overflow: int
    max_backlog: int


def wanted(event: Event, store_events: frozenset[str]) -> bool:
    """Whether the store keeps this kind of event at all."""
    if type(event) is MessageEvent:
        if event.status:
            # A STATUSMSG (@#chan) is for some members only; CHATHISTORY would show
            # it to every member, so it is not kept (as Ergo does).
            return False
        if event.command != "TAGMSG":
            return True
        return "tagmsg" in store_events and not set(event.tags) <= _EPHEMERAL_TAGS
    if isinstance(event, ChannelStateEvent | RedactEvent | RenameEvent):
        return True
    if isinstance(event, JoinEvent):
        return "join" in store_events
    if isinstance(event, LeaveEvent):
        return event.kind in store_events
    if isinstance(event, NickEvent):
        return "nick" in store_events and bool(event.channels)
    if isinstance(event, TopicEvent):
        return "topic" in store_events
    return False


class Admission:
    __slots__ = ("accepted", "limit", "log", "overflowed", "stats", "store_events")

    def __init__(
        self, limit: int, store_events: frozenset[str], stats: QueueStats, log: logging.Logger
    ) -> None:
        self.limit = limit
        self.store_events = frozenset(store_events)
        self.stats = stats
        self.log = log
        # Events ever admitted: a flush waits for the count committed to reach it.
        self.accepted = 0
        # Events dropped in the current overflow episode.
        self.overflowed = 0

    def admit(self, event: Event, backlog: int) -> bool:
        """Whether ``event`` is stored, joining ``backlog`` waiting ones."""
        if not wanted(event, self.store_events):
            return False
        if backlog >= self.limit:
            if self.overflowed == 0:
                self.log.error(
                    "history queue is full (%d events waiting, [storage] queue_limit); "
                    "new events are dropped until the writer catches up",
                    backlog,
                )
            self.overflowed += 1
            self.stats.dropped_overflow += 1
            return False
        self.accepted += 1
        self.stats.submitted += 1
        if backlog >= self.stats.max_backlog:
            self.stats.max_backlog = backlog + 1
        return True

    def settle(self, backlog: int) -> None:
        """Called after progress: ends an overflow episode once there is room again."""
        if self.overflowed and backlog < self.limit:
            self.log.warning("history: queue overflow ended; %d events were dropped",
                             self.overflowed)
            self.overflowed = 0
