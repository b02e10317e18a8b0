"""Plain records the history worker hands back (the question is
``core.chathistory.HistoryRequest``).

Nothing here touches the database: the worker builds these from rows, the core
turns them back into IRC lines. Times are integer microseconds since the epoch,
exactly as stored; ``datetime`` views are provided for the core's formatting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ircish.core.events import as_datetime


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One stored line, as originally sent."""

    id: int
    msgid: str
    micros: int
    kind: str
    source: str
    account: str | None
    target: str
    param: str | None
    text: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        return as_datetime(self.micros)

    @property
    def nick(self) -> str:
        return self.source.split("!", 1)[0]


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """One line of a CHATHISTORY TARGETS reply: a buffer and its latest message."""

    name: str
    micros: int

    @property
    def time(self) -> datetime:
        return as_datetime(self.micros)


@dataclass(frozen=True, slots=True)
class Ban:
    mask: str
    set_by: str
    micros: int


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A persistent channel as stored, for restoring it at start."""

    name: str
    topic: str
    topic_setter: str
    topic_micros: int | None
    modes: str
    key: str | None
    limit: int | None
    bans: tuple[Ban, ...]
    # The founder account when the channel is registered with ChanServ (kept
    # without +P), else None.
    founder: str | None = None
