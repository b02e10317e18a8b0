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
    # The text with its mIRC formatting codes, when it had any; ``text`` never has them.
    styled: str = ""
    # Where it was said, shown before the nick: a search result's channel or query.
    where: str = ""


MAX_LINES = 10_000  # scrollback per buffer; older lines can be fetched again as history


class BufferKind(enum.Enum):
    SERVER = "server"
    CHANNEL = "channel"
    QUERY = "query"
    LIST = "list"  # the answer to /list
    SEARCH = "search"  # the answer to /search


LIST_BUFFER = "-list-"  # a leading "-" is in no nick or channel name
CHAT_KINDS = ("message", "action", "notice")


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
    # Read up to here (our own reading, or another client's through draft/read-marker);
    # ``marker`` is where the "last read" line is drawn: the reading before this visit.
    last_read: datetime | None = None
    marker: datetime | None = None

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

    def newest_chat_time(self) -> datetime | None:
        for line in reversed(self.lines):
            if line.kind in CHAT_KINDS:
                return line.time
        return None


class Listener(Protocol):
    """How a view learns about changes; every method is called synchronously."""

    def line_added(self, buffer: Buffer, line: Line) -> None: ...

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None: ...

    def changed(self) -> None:
        """Anything else: buffers opened or closed, topic, members, unread state."""


class Tee:
    """Several listeners as one: the view and the window logs."""

    def __init__(self, *listeners: Listener) -> None:
        self.listeners = listeners

    def line_added(self, buffer: Buffer, line: Line) -> None:
        for listener in self.listeners:
            listener.line_added(buffer, line)

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None:
        for listener in self.listeners:
            listener.history_added(buffer, lines)

    def changed(self) -> None:
        for listener in self.listeners:
            listener.changed()


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
        # Told when the user has read a buffer up to a time (the session sends MARKREAD).
        self.on_read: Callable[[Buffer, datetime], None] = lambda buffer, moment: None

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
        previous = self.current
        if previous is not buffer and previous in self.all:
            self.mark_read(previous)  # what arrived while it was in front was seen
        self.current = buffer
        buffer.unread = 0
        buffer.mentioned = False
        if previous is not buffer:
            self.set_marker(buffer, buffer.last_read)
            self.mark_read(buffer)
        self.listener.changed()

    def mark_read(self, buffer: Buffer) -> None:
        """The user has seen everything in ``buffer``; forward only."""
        newest = buffer.newest_chat_time()
        if newest is None or buffer.kind not in (BufferKind.CHANNEL, BufferKind.QUERY):
            return
        if buffer.last_read is None or newest > buffer.last_read:
            buffer.last_read = newest
            self.on_read(buffer, newest)

    def read_elsewhere(self, buffer: Buffer, moment: datetime) -> None:
        """The server says this target was read up to ``moment`` (maybe on another device)."""
        if buffer.last_read is not None and moment <= buffer.last_read:
            return
        buffer.last_read = moment
        if buffer is not self.current or buffer.marker is None:
            self.set_marker(buffer, moment)
        if buffer is not self.current:
            # Read on another device: it is no longer news here.
            unread = sum(1 for line in buffer.lines if line.kind in CHAT_KINDS and
                         not line.own and line.time > moment)  # fmt: skip
            buffer.unread = min(buffer.unread, unread)
            buffer.mentioned = buffer.mentioned and unread > 0
        self.listener.changed()

    def set_marker(self, buffer: Buffer, moment: datetime | None) -> None:
        if buffer.marker != moment:
            buffer.marker = moment
            self.listener.history_added(buffer, [])  # the view redraws where the line is

    def clear(self, buffer: Buffer) -> None:
        """Empty a window; its msgids stay, so history fetched later does not refill it."""
        buffer.lines.clear()
        buffer.marker = None
        self.listener.history_added(buffer, [])
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
