"""The bounded queue in front of the database, as one policy for every side of it.

Both the in-process writer and the server's client of the writer process accept
events up to ``[storage] queue_limit`` waiting (queued plus not yet committed).
Past that, events are dropped rather than letting memory grow without end; the
first drop of an episode is logged at once, and its end with the count.
"""

from __future__ import annotations

import logging
from typing import Protocol


class QueueStats(Protocol):
    submitted: int
    dropped_overflow: int
    max_backlog: int


class Admission:
    __slots__ = ("accepted", "limit", "log", "overflowed", "stats")

    def __init__(self, limit: int, stats: QueueStats, log: logging.Logger) -> None:
        self.limit = limit
        self.stats = stats
        self.log = log
        # Events ever admitted: flush() waits for the count committed to reach it.
        self.accepted = 0
        # Events dropped in the current overflow episode.
        self.overflowed = 0

    def admit(self, backlog: int) -> bool:
        """Whether one more event may join ``backlog`` waiting ones."""
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
