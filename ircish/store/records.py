"""Plain records the store hands back, and the references queries take.

Nothing here touches the database: the reader builds these from rows, the core
turns them back into IRC lines. Times are integer microseconds since the epoch,
exactly as stored; ``datetime`` views are provided for the core's formatting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(when: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Integer arithmetic on the timedelta keeps every microsecond (float would not).
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: private history is shown only to its parties.

    A private line is shown to a viewer whose account is a party's account at
    send time, or whose ``session`` (one connection's ``User.session``) is the
    sender's or the recipient's. A nick alone never shows anything: whoever
    registers a departed user's nick is somebody else.
    """

    nick: str
    account: str | None = None
    session: str | None = None


@dataclass(frozen=True, slots=True)
class MsgidRef:
    msgid: str


@dataclass(frozen=True, slots=True)
class TimeRef:
    micros: int


Ref = MsgidRef | TimeRef


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
        return from_micros(self.micros)

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
        return from_micros(self.micros)


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
