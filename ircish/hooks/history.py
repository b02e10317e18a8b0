"""Recent history for plugins: the store when there is one, else memory.

``PluginHistory`` is what ``api.history`` is. With ``[storage]`` configured it
asks the store's reader (the same rows CHATHISTORY serves, surviving restarts);
without, it answers from ``MemoryHistory``, a bounded record that the plugin
layer keeps from events for as long as the process runs. Both give the same
records, so a plugin works either way. Private messages are never kept in memory
and never offered to plugins: history here is channel history.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ircish.core import events
from ircish.protocol.casemap import casefold

LINES_PER_CHANNEL = 200
MESSAGE_TIMES_PER_CHANNEL = 5000
MAX_CHANNELS = 1000
MAX_NICKS = 10000
SEEN_PER_PLACE = 3
# How far back a store query looks when it has to scan for one nick.
STORE_SCAN = 500
COUNT_CAP = 1000
# How many channels a store-backed "seen anywhere" asks about.
STORE_CHANNELS = 20

_ANYWHERE = ""


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One channel line: ``kind`` is PRIVMSG, NOTICE, JOIN, PART, KICK, QUIT, NICK or TOPIC."""

    msgid: str
    time: datetime
    kind: str
    nick: str
    source: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Seen:
    """The last thing a nick was seen doing: ``kind`` as in HistoryLine, or CONNECT.

    ``channel`` is None for what happened outside channels (connecting, quitting,
    a private message, whose text is never kept).
    """

    nick: str
    time: datetime
    kind: str
    channel: str | None
    text: str


class _Lru(OrderedDict[str, Any]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def touch(self, key: str, factory: Any) -> Any:
        value = self.get(key)
        if value is None:
            value = self[key] = factory()
            if len(self) > self.limit:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return value


class MemoryHistory:
    """Bounded, in-process: the last lines per channel and the last sightings per nick."""

    def __init__(self) -> None:
        self._lines = _Lru(MAX_CHANNELS)
        self._message_times = _Lru(MAX_CHANNELS)
        self._seen = _Lru(MAX_NICKS)

    # ---- recording (called by the dispatcher, off the message path) --------------

    def record(self, event: events.Event) -> None:
        if isinstance(event, events.MessageEvent):
            if event.command == "TAGMSG":
                return
            if event.is_channel:
                self._line(event.target, event.msgid, event.time, event.command, event.source,
                           event.text)
                times = self._message_times.touch(
                    casefold(event.target), lambda: deque(maxlen=MESSAGE_TIMES_PER_CHANNEL))
                times.append(event.time)
                self._saw(event.nick, event.time, event.command, event.target, event.text)
            else:
                self._saw(event.nick, event.time, event.command, None, "")
        elif isinstance(event, events.JoinEvent):
            self._line(event.channel, event.msgid, event.time, "JOIN", event.source, "")
            self._saw(event.nick, event.time, "JOIN", event.channel, "")
        elif isinstance(event, events.LeaveEvent):
            kind = event.kind.upper()
            self._line(event.channel, event.msgid, event.time, kind, event.source, event.reason)
            self._saw(event.nick, event.time, kind, event.channel, event.reason)
        elif isinstance(event, events.NickEvent):
            for channel in event.channels:
                self._line(channel, event.msgid, event.time, "NICK", event.source, event.new)
            self._saw(event.old, event.time, "NICK", None, event.new)
            self._saw(event.new, event.time, "NICK", None, event.new)
        elif isinstance(event, events.TopicEvent):
            self._line(event.channel, event.msgid, event.time, "TOPIC", event.source, event.topic)
        elif isinstance(event, events.WelcomeEvent):
            self._saw(event.nick, event.time, "CONNECT", None, "")
        elif isinstance(event, events.DisconnectEvent):
            self._saw(event.nick, event.time, "QUIT", None, event.reason)

    def _line(self, channel: str, msgid: str, when: datetime, kind: str, source: str,
              text: str) -> None:
        lines = self._lines.touch(casefold(channel), lambda: deque(maxlen=LINES_PER_CHANNEL))
        lines.append(HistoryLine(msgid, when, kind, source.split("!", 1)[0], source, channel,
                                 text))

    def _saw(self, nick: str, when: datetime, kind: str, channel: str | None, text: str) -> None:
        places = self._seen.touch(casefold(nick), dict)
        seen = Seen(nick, when, kind, channel, text)
        for place in (_ANYWHERE, casefold(channel)) if channel else (_ANYWHERE,):
            places.setdefault(place, deque(maxlen=SEEN_PER_PLACE)).append(seen)

    # ---- queries --------------------------------------------------------------------

    def latest(self, channel: str, limit: int) -> list[HistoryLine]:
        lines = self._lines.get(casefold(channel))
        if not lines or limit <= 0:
            return []
        return list(lines)[-limit:]

    def last_seen(self, nick: str, channel: str | None, before: datetime | None) -> Seen | None:
        places = self._seen.get(casefold(nick))
        if not places:
            return None
        for seen in reversed(places.get(casefold(channel) if channel else _ANYWHERE, ())):
            if before is None or seen.time < before:
                return seen
        return None

    def count_since(self, channel: str, since: datetime, until: datetime | None) -> int:
        times = self._message_times.get(casefold(channel))
        if not times:
            return 0
        ordered = list(times)
        end = len(ordered) if until is None else bisect.bisect_left(ordered, until)
        return max(0, end - bisect.bisect_right(ordered, since))


class PluginHistory:
    """``api.history``: the same questions, answered by the store when attached."""

    def __init__(self, memory: MemoryHistory, app: Any) -> None:
        self._memory = memory
        self._app = app

    @property
    def persistent(self) -> bool:
        """True when answers come from the store (and so survive restarts)."""
        return self._reader() is not None

    def _reader(self) -> Any:
        store = getattr(self._app, "store", None)
        return getattr(store, "reader", None)

    async def latest(self, channel: str, limit: int = 20) -> list[HistoryLine]:
        """The last ``limit`` lines of a channel, oldest first."""
        reader = self._reader()
        if reader is None:
            return self._memory.latest(channel, limit)
        from ircish.store.schema import ALL_KINDS

        records = await reader.latest(channel, _viewer(), limit, kinds=ALL_KINDS)
        return [_from_record(r) for r in records]

    async def last_seen(
        self, nick: str, channel: str | None = None, before: datetime | None = None
    ) -> Seen | None:
        """The latest sighting of ``nick`` (in ``channel`` if given), older than ``before``.

        Pass an event's ``time`` as ``before`` to ask about the visit before this one.
        """
        remembered = self._memory.last_seen(nick, channel, before)
        reader = self._reader()
        if reader is None or remembered is not None:
            return remembered
        # Not seen since this process started: ask the store, which is kept by
        # target, so "anywhere" means the channels the server has right now.
        if channel is not None:
            places = [channel]
        else:
            places = [c.name for c in list(self._app.core.channels.values())]
        found = [await self._store_last_seen(reader, nick, place, before)
                 for place in places[:STORE_CHANNELS]]
        return max((s for s in found if s is not None), key=lambda s: s.time, default=None)

    async def _store_last_seen(
        self, reader: Any, nick: str, channel: str, before: datetime | None
    ) -> Seen | None:
        from ircish.store.records import TimeRef, to_micros
        from ircish.store.schema import ALL_KINDS

        ref = TimeRef(to_micros(before or datetime.now(UTC)))
        records = await reader.before(channel, _viewer(), ref, STORE_SCAN, kinds=ALL_KINDS)
        key = casefold(nick)
        for record in reversed(records):
            kicked = record.kind == "KICK" and casefold(record.param or "") == key
            if kicked or casefold(record.nick) == key:
                line = _from_record(record)
                return Seen(record.param if kicked else line.nick, line.time, line.kind,
                            line.target, line.text)
        return None

    async def count_since(
        self, channel: str, since: datetime, until: datetime | None = None
    ) -> int:
        """Messages (PRIVMSG and NOTICE) said in ``channel`` after ``since`` (and
        before ``until`` if given: pass an event's ``time`` to leave out what was
        said after it).

        From the store the count stops at 1000 (``COUNT_CAP``); from memory at 5000.
        """
        reader = self._reader()
        if reader is None:
            return self._memory.count_since(channel, since, until)
        from ircish.store.records import TimeRef, to_micros

        start = TimeRef(to_micros(since))
        if until is None:
            records = await reader.after(channel, _viewer(), start, COUNT_CAP)
        else:
            end = TimeRef(to_micros(until))
            records = await reader.between(channel, _viewer(), start, end, COUNT_CAP)
        return len(records)


def _viewer() -> Any:
    from ircish.store.records import Viewer

    # Channel history does not depend on who asks; this nick can never be a party
    # to a private conversation.
    return Viewer("*")


def _from_record(record: Any) -> HistoryLine:
    # The store keeps a NICK's new nick in ``param``; memory keeps it as the text.
    text = (record.param or "") if record.kind == "NICK" else record.text
    return HistoryLine(record.msgid, record.time, record.kind, record.nick, record.source,
                       record.target, text)
