"""Recent history for plugins: the store when there is one, else memory.

``PluginHistory`` is what ``api.history`` is. With ``[storage]`` configured it
asks the store's reader (the same rows CHATHISTORY serves, surviving restarts);
without, it answers from ``MemoryHistory``, a bounded record that the plugin
layer keeps from events for as long as the process runs. Both give the same
records, so a plugin works either way. Private messages are never kept in memory
and never offered to plugins: history here is channel history.

A channel's history starts where it does for clients (``core.chathistory.
history_epoch``): a channel that is not persistent shows plugins only what was
said since it was last created, and a channel that is not there now shows
nothing, so a plugin cannot repeat a re-created secret channel's old lines.
"""

from __future__ import annotations

import bisect
import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import trio

from ircish.core import events
from ircish.core.chathistory import (
    MESSAGE_KINDS,
    PLAYBACK_KINDS,
    HistoryRequest,
)
from ircish.protocol.casemap import casefold
from ircish.search.request import like_nick

if TYPE_CHECKING:
    from ircish.core.server import Server

LINES_PER_CHANNEL = 200
MESSAGE_TIMES_PER_CHANNEL = 5000
MAX_CHANNELS = 1000
MAX_NICKS = 10000
# Nicks nobody has now (quit, or renamed away from) are kept apart and smaller:
# the last sighting anywhere and in each channel still there. With a store, that
# answers for them, and memory only bridges the writer's lag for the latest ones.
MAX_GONE = MAX_NICKS
MAX_GONE_WITH_STORE = 1000
SEEN_PER_PLACE = 3
# Besides "anywhere", a nick's sightings are kept for its most recent channels
# only: someone who wandered through hundreds costs no more than this.
PLACES_PER_NICK = 4
# How far back a store query looks when it has to scan for one nick.
STORE_SCAN = 500
# How many of a nick's lines per channel come back to be checked.
STORE_CANDIDATES = 4
COUNT_CAP = 1000
# How many channels a store-backed "seen anywhere" asks about.
STORE_CHANNELS = 20

_ANYWHERE = ""
# Where the history of a channel that does not exist now starts: never.
_GONE = 1 << 62

# A channel name -> the first time its history may show, None: from the start.
Start = Callable[[str], datetime | None]


def _from_the_start(channel: str) -> datetime | None:
    return None

log = logging.getLogger("ircish.hooks")


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
    # Said by a bot (user mode +B, as every plugin bot is): history keeps the mark.
    is_bot: bool = False


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


def _bounded_get(table: dict[str, Any], key: str, limit: int, factory: Any) -> Any:
    """``table[key]``, created if missing; the oldest key goes when over ``limit``.

    Insertion order rather than true LRU: a dict lookup is all a busy channel
    costs, and only a server with more than ``limit`` names ever evicts.
    """
    value = table.get(key)
    if value is None:
        value = table[key] = factory()
        if len(table) > limit:
            del table[next(iter(table))]
    return value


class _ChannelMemory:
    __slots__ = ("lines", "times")

    def __init__(self) -> None:
        # MessageEvents are kept as they are and turned into HistoryLines when
        # read: recording is then one append, on the busiest path there is.
        self.lines: deque[HistoryLine | events.MessageEvent] = deque(maxlen=LINES_PER_CHANNEL)
        # µs in one buffer, not thousands of small objects: each of those would
        # hold on to a piece of the allocator's memory long after a crowd left.
        self.times = array("q")

    def add_time(self, micros: int) -> None:
        times = self.times
        times.append(micros)
        if len(times) >= 2 * MESSAGE_TIMES_PER_CHANNEL:
            del times[:-MESSAGE_TIMES_PER_CHANNEL]


# One sighting: (µs, kind, channel or None, text, nick). Never the event itself,
# whose tags, msgid and source would be kept for thousands of nicks (a soak with
# 10,000 nicks held 23 MB of them), nor a datetime, which costs more than its µs.
Sighting = tuple[int, str, str | None, str, str]
# The last SEEN_PER_PLACE sightings, oldest first: a small tuple costs a tenth of
# a deque, and a server remembers thousands of nicks.
Sightings = tuple[Sighting, ...]


def _push(old: Sightings, seen: Sighting) -> Sightings:
    return (*old, seen)[-SEEN_PER_PLACE:]


def _gone_entry(places: dict[str, Sightings], exists: Callable[[str], bool] | None
                ) -> Sightings:
    """What is kept of a nick nobody has now: its last sighting anywhere and its
    last in each channel that is still there (one that ended never shows again),
    oldest first."""
    kept = {places[key][-1] for key in places
            if places[key] and (key == _ANYWHERE or exists is None or exists(key))}
    anywhere = places.get(_ANYWHERE)
    if anywhere and anywhere[-1][2] is not None and exists is not None and not exists(
            casefold(anywhere[-1][2])):
        kept.discard(anywhere[-1])
    # The last sighting anywhere is the latest even at an equal time: a QUIT's leave of
    # each channel and the quit itself share one (a set has no order to fall back on).
    last = anywhere[-1] if anywhere else None
    return tuple(sorted(kept, key=lambda seen: (seen[0], seen == last)))


class MemoryHistory:
    """Bounded, in-process: the last lines per channel and the last sightings per nick."""

    def __init__(self, exists: Callable[[str], bool] | None = None,
                 max_gone: int = MAX_GONE, lines: bool = True,
                 holds: Callable[[str], bool] | None = None) -> None:
        """``exists(key)``: is the channel with this casefolded name there now?

        A channel that ended is never shown again (its history starts anew if it
        is re-created), so what is kept of it goes when its last member leaves;
        without this, every channel ever made stayed until MAX_CHANNELS.
        ``max_gone``: how many nicks nobody has now are remembered.
        ``lines``: keep channels' lines and message times; False with a store,
        which answers ``latest`` and ``count_since`` itself: kept, the last 200
        lines of every channel (a crowd's texts and sources) stayed alive for
        nothing, and held on to the memory the crowd had used.
        ``holds(key)``: does anyone have this casefolded nick now? A nick is let go
        (kept compactly, up to ``max_gone``) on its user's quit or rename; when
        that event is missed (the plugin layer drops events when its queue is
        full), the nick is found and let go now and then instead: under fast
        churn, without this, up to MAX_NICKS departed nicks (~8 MB) stayed in full.
        """
        self._exists = exists
        self._holds = holds
        self._max_gone = max_gone
        self._lines = lines
        self._channels: dict[str, _ChannelMemory] = {}
        self._ticks = 0
        self._seen: dict[str, dict[str, Sightings]] = {}
        self._gone: dict[str, Sightings] = {}
        # The same by casefolded account, from the events that name one (connecting,
        # joining, speaking): a logged-in user is known on any nick.
        self._accounts: dict[str, dict[str, Sightings]] = {}

    def size(self) -> tuple[int, int, int]:
        """Channels, nicks and sightings kept: what bounds this memory."""
        return (len(self._channels), len(self._seen) + len(self._gone),
                sum(len(s) for places in self._seen.values() for s in places.values())
                + sum(len(s) for s in self._gone.values()))

    # ---- recording (called by the dispatcher, off the message path) --------------

    def record(self, event: events.Event) -> None:
        if type(event) is events.MessageEvent:
            if event.command == "TAGMSG":
                return
            key = None
            if event.is_channel:
                key = casefold(event.target)
                if self._lines:
                    memory = self._channel(key)
                    memory.lines.append(event)
                    memory.add_time(event.micros)
                sighting: Sighting = (event.micros, event.command, event.target, event.text,
                                      event.nick)
            else:
                # A private message's text is never shown to plugins.
                sighting = (event.micros, event.command, None, "", event.nick)
            self._saw(event.nick, sighting, key)
            if event.account is not None:
                self._saw(event.account, sighting, key, self._accounts)
        elif isinstance(event, events.JoinEvent):
            self._line(event.channel, event.msgid, _when(event), "JOIN", event.source, "")
            seen = (event.micros, "JOIN", event.channel, "", event.nick)
            self._saw(event.nick, seen, casefold(event.channel))
            if event.account is not None:
                self._saw(event.account, seen, casefold(event.channel), self._accounts)
        elif isinstance(event, events.LeaveEvent):
            kind = event.kind.upper()
            self._line(event.channel, event.msgid, _when(event), kind, event.source, event.reason)
            key = casefold(event.channel)
            self._saw(event.nick, (event.micros, kind, event.channel, event.reason,
                                   event.nick), key)
            if self._exists is not None and not self._exists(key):
                self._channels.pop(key, None)
                # The others' sightings there age out with PLACES_PER_NICK, or
                # go when they leave (``_left``).
                self._seen[casefold(event.nick)].pop(key, None)
        elif isinstance(event, events.NickEvent):
            for channel in event.channels:
                self._line(channel, event.msgid, _when(event), "NICK", event.source, event.new)
            for nick in (event.old, event.new):
                self._saw(nick, (event.micros, "NICK", None, event.new, nick), None)
            if casefold(event.old) != casefold(event.new):
                self._left(event.old)
        elif isinstance(event, events.TopicEvent):
            self._line(event.channel, event.msgid, _when(event), "TOPIC", event.source, event.topic)
        elif isinstance(event, events.RenameEvent):
            old, new = casefold(event.old), casefold(event.new)
            memory = self._channels.pop(old, None)
            if memory is not None:
                self._channels[new] = memory  # an earlier channel's lines there go
        elif isinstance(event, events.WelcomeEvent):
            seen = (event.micros, "CONNECT", None, "", event.nick)
            self._saw(event.nick, seen, None)
            if event.account is not None:
                self._saw(event.account, seen, None, self._accounts)
        elif isinstance(event, events.DisconnectEvent):
            self._saw(event.nick, (event.micros, "QUIT", None, event.reason, event.nick), None)
            self._left(event.nick)

    def _left(self, nick: str) -> None:
        """Nobody has ``nick`` now: keep what can still be shown of it, compactly."""
        key = casefold(nick)
        if key in self._seen:
            self._tick()
            self._let_go(key)

    def _let_go(self, key: str) -> None:
        places = self._seen.pop(key, None)
        if places is None:
            return
        entry = _gone_entry(places, self._exists)
        if entry:
            self._gone[key] = entry
            if len(self._gone) > self._max_gone:
                del self._gone[next(iter(self._gone))]

    def _tick(self) -> None:
        """Called per channel made, per nick first seen and per nick let go, to look
        for ended channels and for nicks nobody has.

        A channel's end is missed when its last LeaveEvent is, and a nick's when its
        user's DisconnectEvent is (the plugin layer drops events when its queue is
        full): look now and then, rather than keep them until MAX_CHANNELS and
        MAX_NICKS.
        """
        self._ticks += 1
        if self._ticks % 256:
            return
        if self._exists is not None:
            for old in [key for key in self._channels if not self._exists(key)]:
                del self._channels[old]
        if self._holds is not None:
            for key in [key for key in self._seen if not self._holds(key)]:
                self._let_go(key)

    def _channel(self, key: str) -> _ChannelMemory:
        memory = self._channels.get(key)
        if memory is None:
            self._tick()
            memory = _bounded_get(self._channels, key, MAX_CHANNELS, _ChannelMemory)
        return memory

    def _line(self, channel: str, msgid: str, when: datetime, kind: str, source: str,
              text: str) -> None:
        if not self._lines:
            return
        self._channel(casefold(channel)).lines.append(
            HistoryLine(msgid, when, kind, source.split("!", 1)[0], source, channel, text))

    def _saw(self, nick: str, seen: Sighting, channel_key: str | None,
             table: dict[str, dict[str, Sightings]] | None = None) -> None:
        """Note a sighting of ``nick`` (or of an account, in ``self._accounts``)."""
        key = casefold(nick)
        if table is None:
            table = self._seen
            gone = self._gone.pop(key, None)
            if key not in table:
                self._tick()
                if gone is not None:
                    # Someone has the nick again: its old sightings come back.
                    table[key] = _places(gone)
        places = _bounded_get(table, key, MAX_NICKS, dict)
        places[_ANYWHERE] = _push(places.get(_ANYWHERE, ()), seen)
        if channel_key is not None:
            # Taken out and put back: the dict's order is then most recent last,
            # and the first place after "anywhere" is the one to let go.
            places[channel_key] = _push(places.pop(channel_key, ()), seen)
            if len(places) > PLACES_PER_NICK + 1:
                del places[next(k for k in places if k != _ANYWHERE)]

    # ---- queries --------------------------------------------------------------------

    def latest(self, channel: str, limit: int, start: Start = _from_the_start,
               kinds: frozenset[str] = PLAYBACK_KINDS) -> list[HistoryLine]:
        memory = self._channels.get(casefold(channel))
        if memory is None or limit <= 0:
            return []
        items = list(memory.lines)
        first = start(channel)
        if first is not None:
            items = [item for item in items if _time(item) >= first]
        if kinds != PLAYBACK_KINDS:
            items = [item for item in items if _kind(item) in kinds]
        return [_as_line(item) for item in items[-limit:]]

    def last_seen(self, nick: str, channel: str | None, before: datetime | None,
                  start: Start = _from_the_start, by_account: bool = False) -> Seen | None:
        """The latest sighting of ``nick`` (of the account ``nick`` if ``by_account``)."""
        key = casefold(nick)
        place = casefold(channel) if channel else _ANYWHERE
        places = (self._accounts if by_account else self._seen).get(key)
        if places:
            items = places.get(place, ())
        else:
            gone = None if by_account else self._gone.get(key)
            if not gone:
                return None
            items = gone if not channel else tuple(
                seen for seen in gone if seen[2] is not None and casefold(seen[2]) == place)
        limit = None if before is None else events.micros_of(before)
        for item in reversed(items):
            if limit is not None and item[0] >= limit:
                continue
            seen = _as_seen(item)
            first = start(seen.channel) if seen.channel is not None else None
            if first is None or seen.time >= first:
                return seen
        return None

    def count_since(self, channel: str, since: datetime, until: datetime | None,
                    start: Start = _from_the_start) -> int:
        memory = self._channels.get(casefold(channel))
        if memory is None:
            return 0
        first = start(channel)
        if first is not None and first > since:
            # Counted from the channel's start, which is not after a line of its own.
            since = first - timedelta(microseconds=1)
        ordered = memory.times[-MESSAGE_TIMES_PER_CHANNEL:]
        end = (len(ordered) if until is None
               else bisect.bisect_left(ordered, events.micros_of(until)))
        return max(0, end - bisect.bisect_right(ordered, events.micros_of(since)))


def _when(event: Any) -> datetime:
    return events.as_datetime(event.micros)


def _time(item: HistoryLine | events.MessageEvent) -> datetime:
    """When ``item`` happened: kept events carry µs, the rest already a datetime."""
    return _when(item) if type(item) is events.MessageEvent else item.time


def _places(gone: Sightings) -> dict[str, Sightings]:
    """A gone nick's entry as the places of one that is in use again."""
    places: dict[str, Sightings] = {_ANYWHERE: gone[-1:]}
    for seen in gone:
        if seen[2] is not None:
            places[casefold(seen[2])] = (seen,)
    return places


def _kind(item: HistoryLine | events.MessageEvent) -> str:
    return item.kind if isinstance(item, HistoryLine) else item.command


def read_kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    """A plugin's ``kinds=`` as the set a read asks for; every kind when None."""
    if kinds is None:
        return PLAYBACK_KINDS
    if isinstance(kinds, str):
        kinds = (kinds,)  # "PRIVMSG" alone, not its letters
    chosen = frozenset(k.upper() for k in kinds)
    unknown = chosen - PLAYBACK_KINDS
    if unknown or not chosen:
        raise ValueError(f"kinds= takes some of {', '.join(sorted(PLAYBACK_KINDS))}; "
                         f"got {', '.join(sorted(unknown)) or 'none'}")
    return chosen


def _as_line(item: HistoryLine | events.MessageEvent) -> HistoryLine:
    if isinstance(item, HistoryLine):
        return item
    return HistoryLine(item.msgid, _when(item), item.command, item.nick, item.source,
                       item.target, item.text, "bot" in item.tags)


def _as_seen(item: Sighting) -> Seen:
    micros, kind, channel, text, nick = item
    return Seen(nick, events.as_datetime(micros), kind, channel, text)


class HistoryUnavailable(RuntimeError):
    """The history store did not answer in time (or at all): not the plugin's fault.

    A hook may catch it and do without; one that lets it escape is not counted
    as failing.
    """


class StoreHealth:
    """Whether the store answers plugins' reads: one warning per bad episode.

    Shared by every plugin's ``api.history``: under load the store is slow for
    all of them at once, and one line saying so is enough.
    """

    def __init__(self) -> None:
        self.unanswered = 0

    def trouble(self, plugin: str, problem: str) -> HistoryUnavailable:
        if self.unanswered == 0:
            log.warning("plugin %s: history store unavailable: %s; plugins go without "
                        "(not counted as their failures; logged again when it recovers)",
                        plugin, problem)
        self.unanswered += 1
        return HistoryUnavailable(f"history store unavailable: {problem}")

    def answered(self) -> None:
        if self.unanswered:
            log.warning("history store answers plugins again (%d reads went unanswered)",
                        self.unanswered)
            self.unanswered = 0


class ReadMark:
    """Set by the runner around a hook; a store read cancelled by the hook's own
    deadline marks it, so the timeout is charged to the store, not the plugin."""

    __slots__ = ("interrupted",)

    def __init__(self) -> None:
        self.interrupted = False


read_mark: ContextVar[ReadMark | None] = ContextVar("ircish_history_read", default=None)


class PluginHistory:
    """``api.history``: the same questions, answered by the store when attached.

    A store read gets ``timeout`` seconds (half the hook's); past that, or with
    the store down, it raises ``HistoryUnavailable``.
    """

    def __init__(self, memory: MemoryHistory, core: Server, reader: Any = None, plugin: str = "",
                 health: StoreHealth | None = None, timeout: float = 2.5) -> None:
        self._memory = memory
        self._core = core
        # The history store (``ircish.history.client.StoreClient``, or any
        # ``ask(*requests)``), or None.
        self._store_reader = reader
        self._plugin = plugin
        self._health = health or StoreHealth()
        self._timeout = timeout

    @property
    def persistent(self) -> bool:
        """True when answers come from the store (and so survive restarts)."""
        return self._reader() is not None

    def _reader(self) -> Any:
        return self._store_reader

    def _epoch(self, channel: str) -> int | None:
        """Where ``channel``'s history starts (µs), as for clients; None: no start."""
        from ircish.core.chathistory import history_epoch

        core = self._core
        found = core.find_channel(channel)
        if found is None:
            return _GONE if channel.startswith("#") else None
        return history_epoch(core, found)

    def _start(self, channel: str) -> datetime | None:
        micros = self._epoch(channel)
        if micros is None:
            return None
        if micros >= _GONE:
            return datetime.max.replace(tzinfo=UTC)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)

    async def _ask(self, reader: Any, *requests: HistoryRequest) -> list[Any]:
        from ircish.history.errors import StoreQueryError, StoreUnavailable

        what = requests[0].sub
        try:
            with trio.move_on_after(self._timeout) as scope:
                answers: list[Any] = await reader.ask(*requests)
        except trio.Cancelled:
            mark = read_mark.get()
            if mark is not None:
                mark.interrupted = True
            raise
        except (StoreUnavailable, StoreQueryError) as exc:
            raise self._health.trouble(self._plugin, f"{what}: {exc}") from exc
        if scope.cancelled_caught:
            raise self._health.trouble(self._plugin, f"{what} took over {self._timeout:g}s")
        self._health.answered()
        return answers

    async def latest(self, channel: str, limit: int = 20,
                     kinds: Iterable[str] | None = None) -> list[HistoryLine]:
        """The last ``limit`` lines of a channel, oldest first; ``kinds``: only
        these (e.g. ``{"PRIVMSG", "NOTICE"}``), every kind when None."""
        chosen = read_kinds(kinds)
        reader = self._reader()
        if reader is None:
            return self._memory.latest(channel, limit, self._start, chosen)
        request = HistoryRequest("LATEST", channel, (None,), limit, chosen,
                                 self._epoch(channel))
        (records,) = await self._ask(reader, request)
        return [_from_record(r) for r in records]

    async def last_seen(
        self, nick: str, channel: str | None = None, before: datetime | None = None
    ) -> Seen | None:
        """The latest sighting of ``nick`` (in ``channel`` if given), older than ``before``.

        Pass an event's ``time`` as ``before`` to ask about the visit before this one.
        """
        remembered = self._memory.last_seen(nick, channel, before, self._start)
        reader = self._reader()
        if reader is None or remembered is not None:
            return remembered
        # Not seen since this process started: ask the store, which is kept by
        # target, so "anywhere" means the channels the server has right now.
        # One read for all of them, and only a nick's own lines come back.
        places = self._store_places(channel)
        if not places:
            return None
        ref = ("timestamp", events.micros_of(before or datetime.now(UTC)))
        pattern = like_nick(nick)
        # One read for all of them (one transaction), a few candidates each.
        found = await self._ask(reader, *(
            HistoryRequest("NICK", place, (ref,), STORE_CANDIDATES, PLAYBACK_KINDS,
                           self._epoch(place), window=STORE_SCAN, nick_like=pattern)
            for place in places))
        key = casefold(nick)
        best: Seen | None = None
        for records in found:
            for record in reversed(records):
                kicked = record.kind == "KICK" and casefold(record.param or "") == key
                if kicked or casefold(record.nick) == key:
                    line = _from_record(record)
                    if best is None or line.time > best.time:
                        best = Seen(record.param if kicked else line.nick, line.time,
                                    line.kind, line.target, line.text)
                    break
        return best

    def _store_places(self, channel: str | None) -> list[str]:
        """Where the store is asked for a sighting: the channel given, or else the
        channels the server has now (history is kept by target)."""
        if channel is not None:
            return [channel]
        return [c.name for c in list(self._core.channels.values())][:STORE_CHANNELS]

    async def last_seen_account(
        self, account: str, channel: str | None = None, before: datetime | None = None
    ) -> Seen | None:
        """Like ``last_seen``, for whoever was logged in to ``account``, on any nick.

        Sightings by account are the connections, joins and messages of a user
        logged in at the time (a login itself is none: SASL logs in before the
        connection's welcome, which would then look like a visit before this
        one); ``Seen.nick`` is the nick they had.
        """
        remembered = self._memory.last_seen(account, channel, before, self._start,
                                            by_account=True)
        reader = self._reader()
        if reader is None or remembered is not None:
            return remembered
        places = self._store_places(channel)
        if not places:
            return None
        ref = ("timestamp", events.micros_of(before or datetime.now(UTC)))
        found = await self._ask(reader, *(
            HistoryRequest("ACCOUNT", place, (ref,), STORE_CANDIDATES, PLAYBACK_KINDS,
                           self._epoch(place), window=STORE_SCAN, account=account)
            for place in places))
        key = casefold(account)
        best: Seen | None = None
        for records in found:
            for record in reversed(records):
                if record.account is not None and casefold(record.account) == key:
                    line = _from_record(record)
                    if best is None or line.time > best.time:
                        best = Seen(line.nick, line.time, line.kind, line.target, line.text)
                    break
        return best

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
            return self._memory.count_since(channel, since, until, self._start)
        refs: tuple[Any, ...] = (("timestamp", events.micros_of(since)),)
        if until is not None:
            refs += (("timestamp", events.micros_of(until)),)
        request = HistoryRequest("COUNT", channel, refs, COUNT_CAP, MESSAGE_KINDS,
                                 self._epoch(channel))
        (count,) = await self._ask(reader, request)
        return int(count)


def _from_record(record: Any) -> HistoryLine:
    # The store keeps a NICK's new nick in ``param``; memory keeps it as the text.
    # A stored JOIN's text is the joiner's realname (for extended-join), no text.
    kind = record.kind
    text = (record.param or "") if kind == "NICK" else "" if kind == "JOIN" else record.text
    return HistoryLine(record.msgid, record.time, record.kind, record.nick, record.source,
                       record.target, text, "bot" in record.tags)
