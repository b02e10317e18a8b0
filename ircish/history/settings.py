"""What the store needs from the configuration, as one plain value.

The server's config loader fills this from ``[storage]`` and ``[history]``; tests
and the benchmark build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Channel events that may be stored next to messages; "message" lines
# (PRIVMSG/NOTICE) are always stored while history is on.
STORABLE_EVENTS = frozenset({"tagmsg", "join", "part", "kick", "quit", "nick", "topic"})
DEFAULT_EVENTS = STORABLE_EVENTS


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = "sqlite:///ircish.db"
    auto_migrate: bool = True
    # Longest time a line waits in memory before its batch is committed: what an
    # abrupt kill can lose.
    flush_interval_ms: int = 50
    # Events waiting for the writer; beyond this they are dropped and counted.
    queue_limit: int = 100_000
    store_events: frozenset[str] = field(default=DEFAULT_EVENTS)
    busy_timeout_ms: int = 5_000
    retention_days: int = 0
    # How often the retention job looks for expired rows, and how many it
    # deletes per transaction (small, so the writer never waits long).
    retention_interval_s: float = 3_600.0
    retention_batch: int = 2_000

    def __post_init__(self) -> None:
        unknown = set(self.store_events) - STORABLE_EVENTS
        if unknown:
            raise ValueError(
                f"[storage] store_events: unknown event kind(s) {sorted(unknown)}; "
                f"choose from {sorted(STORABLE_EVENTS)}"
            )
        if self.flush_interval_ms < 0:
            raise ValueError("[storage] flush_interval_ms must be >= 0")
        if self.queue_limit < 1:
            raise ValueError("[storage] queue_limit must be >= 1")
        if self.retention_days < 0:
            raise ValueError("[history] retention_days must be >= 0 (0 keeps forever)")
