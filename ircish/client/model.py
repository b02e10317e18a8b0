"""What the user sees, as plain data: buffers of lines, their topics and members.

The protocol side (``session.py``) writes here; the views (full screen and
plain mode) read from here and are told about changes through one
:class:`Listener`. Keeping this free of urwid and Trio lets both views and the
tests share one truth.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from ircish.protocol import casefold as rfc1459_casefold

LineKind = Literal[
    "message",  # PRIVMSG
    "action",  # CTCP ACTION (/me)
    "notice",
    "join",
    "part",
    "quit",
    "kick",
    "nick",
    "topic",
    "mode",
    "info",  # anything the client or server tells the user that is not chat
    "error",
]


@dataclass(slots=True)
class Line:
    """One displayed line; ``time`` is timezone-aware (server-time when known)."""

    time: datetime
    kind: LineKind
    text: str
    nick: str = ""
    msgid: str | None = None
    own: bool = False
    mention: bool = False


MAX_LINES = 10_000  # scrollback per buffer; older lines can be fetched again as history


class BufferKind(enum.Enum):
    SERVER = "server"
    CHANNEL = "channel"
    QUERY = "query"


@dataclass(slots=True)
class Member:
    nick: str
    # Prefix characters in rank order ("@+" for an op with voice), kept whole so
    # multi-prefix servers lose nothing when a mode is taken away.
    prefixes: str = ""
    away: bool = False


@dataclass(eq=False)
class Buffer:
    """A window's content: the server, a channel or a private conversation."""

    name: str
    kind: BufferKind
    lines: list[Line] = field(default_factory=list)
    topic: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    unread: int = 0
    mentioned: bool = False
    joined: bool = False
    joined_at: datetime | None = None
    # Older history: one request in flight at a time, and none once the server
    # has said there is nothing older.
    history_pending: bool = False
    history_exhausted: bool = False
    # Every msgid shown, so replays and history never show a message twice.
    msgids: set[str] = field(default_factory=set)

    @property
    def is_channel(self) -> bool:
        return self.kind is BufferKind.CHANNEL

    def oldest_line(self) -> Line | None:
        for line in self.lines:
            if line.kind in ("message", "action", "notice"):
                return line
        return None

    def has_msgid(self, msgid: str | None) -> bool:
        return msgid is not None and msgid in self.msgids


class Listener(Protocol):
    """How a view learns about changes; every method is called synchronously."""

    def line_added(self, buffer: Buffer, line: Line) -> None: ...

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None: ...

    def changed(self) -> None:
        """Anything else: buffers opened or closed, topic, members, unread state."""


class NullListener:
    def line_added(self, buffer: Buffer, line: Line) -> None:
        pass

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None:
        pass

    def changed(self) -> None:
        pass


def now() -> datetime:
    return datetime.now(UTC)


class Buffers:
    """The ordered list of open buffers; window numbers are positions plus one.

    The server buffer is always number 1 and can not be closed.
    """

    def __init__(self, server_name: str = "server") -> None:
        self.casefold: Callable[[str], str] = rfc1459_casefold
        self.server = Buffer(server_name, BufferKind.SERVER)
        self.all: list[Buffer] = [self.server]
        self.current: Buffer = self.server
        self.listener: Listener = NullListener()

    # -- lookup and lifetime -------------------------------------------------

    def get(self, name: str) -> Buffer | None:
        key = self.casefold(name)
        for buffer in self.all[1:]:
            if self.casefold(buffer.name) == key:
                return buffer
        return None

    def open(self, name: str, kind: BufferKind, *, focus: bool = False) -> Buffer:
        buffer = self.get(name)
        if buffer is None:
            buffer = Buffer(name, kind)
            self.all.append(buffer)
        if focus:
            self.switch_to(buffer)
        self.listener.changed()
        return buffer

    def close(self, buffer: Buffer) -> None:
        if buffer is self.server or buffer not in self.all:
            return
        index = self.all.index(buffer)
        self.all.remove(buffer)
        if self.current is buffer:
            self.switch_to(self.all[min(index, len(self.all) - 1)])
        self.listener.changed()

    def rename(self, buffer: Buffer, name: str) -> None:
        buffer.name = name
        self.listener.changed()

    def channels(self) -> list[Buffer]:
        return [b for b in self.all if b.kind is BufferKind.CHANNEL]

    # -- focus ---------------------------------------------------------------

    def switch_to(self, buffer: Buffer) -> None:
        self.current = buffer
        buffer.unread = 0
        buffer.mentioned = False
        self.listener.changed()

    def switch_number(self, number: int) -> bool:
        if 1 <= number <= len(self.all):
            self.switch_to(self.all[number - 1])
            return True
        return False

    def switch_relative(self, step: int) -> None:
        index = self.all.index(self.current)
        self.switch_to(self.all[(index + step) % len(self.all)])

    def number(self, buffer: Buffer) -> int:
        return self.all.index(buffer) + 1

    # -- content -------------------------------------------------------------

    def add(self, buffer: Buffer, line: Line) -> None:
        buffer.lines.append(line)
        if line.msgid:
            buffer.msgids.add(line.msgid)

        if buffer is not self.current and line.kind in ("message", "action", "notice"):
            if not line.own:
                buffer.unread += 1
                if line.mention or buffer.kind is BufferKind.QUERY:
                    buffer.mentioned = True
        self.listener.line_added(buffer, line)
        if len(buffer.lines) > MAX_LINES:
            # Drop a tenth at once so trimming (and the view's rebuild) is rare.
            for old in buffer.lines[: MAX_LINES // 10]:
                buffer.msgids.discard(old.msgid or "")
            del buffer.lines[: MAX_LINES // 10]
            self.listener.history_added(buffer, [])
        self.listener.changed()

    def add_everywhere(self, line: Line) -> None:
        for buffer in self.all:
            self.add(buffer, Line(line.time, line.kind, line.text))

    def add_history(self, buffer: Buffer, lines: Iterable[Line]) -> list[Line]:
        """Merge replayed lines into a buffer by time, skipping ones already shown.

        History never counts as unread: the user has either seen it or chose to
        look back at it.
        """
        added: list[Line] = []
        # Servers stamp to the millisecond, so history and shown lines can share a
        # time: going backwards and inserting before equal times keeps both the
        # batch's order and history ahead of what was already there.
        for line in reversed(list(lines)):
            if buffer.has_msgid(line.msgid):
                continue
            index = bisect.bisect_left(buffer.lines, line.time, key=lambda old: old.time)
            buffer.lines.insert(index, line)
            if line.msgid:
                buffer.msgids.add(line.msgid)
            added.append(line)
        added.reverse()
        if added:
            self.listener.history_added(buffer, added)
        self.listener.changed()
        return added
