"""The history store wired into a running server.

``history_feature(app, store)`` is listed by ``ircish.app.build_server`` when
``[storage] url`` is set. Its extension adds, without the core knowing about the store:

- every event the core emits goes to the writer (``Store.submit``);
- capabilities ``draft/chathistory`` and ``draft/event-playback``, ISUPPORT
  ``CHATHISTORY=<max>`` and ``MSGREFTYPES=msgid,timestamp``;
- the CHATHISTORY command: parsed (into one ``HistoryRequest``, viewer and
  channel epoch included) and access-checked synchronously by
  ``ircish.core.chathistory``; the request goes as it is to the history worker
  process and is answered from a task once the rows come back;
- replay on join for clients without ``draft/chathistory``;
- a service in the server's nursery: start the history worker (it migrates,
  then runs the writer and the retention job), restore persistent channels;
  and a shutdown step that flushes;
- a server NOTICE to connected operators when history cannot be written, and
  when it can again.

The store is a ``client.StoreClient``: nothing here imports SQLAlchemy.

A query travels behind every line queued before it, on the one stream to the
worker, which commits them before it answers: a client always finds the lines
it has just seen, even those still waiting for their batch, without a flush
round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import trio

from ircish.config import Config, ConfigError
from ircish.core import chathistory as ch
from ircish.core import events
from ircish.core.commands import Command
from ircish.core.extension import Extension, listens_to
from ircish.core.multiline import is_stored_multiline, shift_offsets
from ircish.history.client import StoreClient
from ircish.history.deferred import DeferredAnswers
from ircish.history.errors import StorageError, StoreQueryError, StoreUnavailable
from ircish.history.records import HistoryRecord
from ircish.history.settings import DEFAULT_EVENTS, StoreSettings
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.store")

# Requests one client may have in flight; more are refused, not queued.
MAX_IN_FLIGHT = 4
# user.ext key: the channels this connection has joined (each replayed once at most).
REPLAYED = "history-replayed"
# user.ext key of the read-marker feature's markers (read, never changed here).
READ_MARKERS = "read-marker"
# (account, channel) departures remembered for replay; the oldest go first.
MAX_DEPARTURES = 10_000
# Replays on join one connection may have waiting for the store at once; its other
# joins wait their turn (a JOIN of many channels is not a burst of queries).
MAX_REPLAYS = 2
# user.ext key: this connection's replays not yet sent (``PendingReplays``).
PENDING_REPLAYS = "history-replays"


class PendingReplays:
    """One connection's replays on join that are not sent yet: their turn to ask
    the store, and by channel key the scope that drops one when the user leaves
    the channel (or the server) before it is sent, so a slow store never keeps a
    departed user alive."""

    def __init__(self) -> None:
        self.turns = trio.CapacityLimiter(MAX_REPLAYS)
        self.scopes: dict[str, trio.CancelScope] = {}

    def drop(self, key: str) -> None:
        scope = self.scopes.pop(key, None)
        if scope is not None:
            scope.cancel()


def pending_replays(user: User) -> PendingReplays:
    pending = user.ext.get(PENDING_REPLAYS)
    if not isinstance(pending, PendingReplays):
        pending = user.ext[PENDING_REPLAYS] = PendingReplays()
    return pending


def settings_from_config(config: Config) -> StoreSettings:
    storage = config.storage
    events = storage.store_events
    if isinstance(events, bool):
        chosen = DEFAULT_EVENTS if events else frozenset()
    else:
        chosen = frozenset(events)
    return StoreSettings(
        url=storage.url,
        auto_migrate=storage.auto_migrate,
        flush_interval_ms=storage.flush_interval_ms,
        queue_limit=storage.queue_limit,
        store_events=chosen,
        retention_days=config.history.retention_days,
    )


class HistoryService:
    def __init__(self, app: IrcServer, store: StoreClient) -> None:
        self.app = app
        self.core: Server = app.core
        self.store = store
        history = app.config.history
        self.max_limit = history.chathistory_max
        self.replay_lines = history.replay_on_join
        self.replay_bots = history.replay_bots
        self._nursery: trio.Nursery | None = None
        # CHATHISTORY answers: at most MAX_IN_FLIGHT a connection.
        self.deferred = DeferredAnswers(MAX_IN_FLIGHT)
        self._left: dict[tuple[str, str], int] = {}

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                try:
                    # Starts the worker: it migrates and loads persistent channels.
                    await nursery.start(self.store.run)
                except StorageError as exc:
                    raise ConfigError(app.config.path, "storage.url", str(exc)) from exc
                self.restore_channels()
                self._nursery = self.deferred.nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = self.deferred.nursery = None

    async def flush(self) -> None:
        await self.store.flush()

    # -- persistent channels ---------------------------------------------------

    def restore_channels(self) -> None:
        states = self.store.restored
        for state in states:
            modes = set(state.modes.lstrip("+")) - {"k", "l"}
            if "P" not in modes and state.founder is None:
                # Kept for a ChanServ registration that is gone (the account CLI
                # deleted its founder while the server ran): not kept any more.
                log.info("not restoring %s: neither +P nor registered", state.name)
                continue
            channel = self.core.get_or_create_channel(state.name)
            channel.modes = modes
            channel.founder = state.founder
            channel.password = state.key
            channel.limit = state.limit
            channel.topic = state.topic
            channel.topic_setter = state.topic_setter
            channel.topic_time = (state.topic_micros or 0) / 1_000_000
            channel.bans = [(b.mask, b.set_by, b.micros / 1_000_000) for b in state.bans]
        if states:
            log.info("restored %d persistent channel(s)", len(states))

    # -- CHATHISTORY -----------------------------------------------------------

    def on_command(self, server: Server, user: User, msg: Message) -> None:
        request = ch.parse_request(server, user, msg, self.max_limit)
        if request is None:
            return
        if request.sub != "TARGETS" and not ch.may_read(server, user, request.target):
            ch.invalid_target(server, user, request)
            return
        if not self.deferred.start(server, user, partial(self._answer, user, request)):
            ch.message_error(server, user, request)

    async def _answer(
        self, user: User, request: ch.HistoryRequest, replies: Replies | None,
    ) -> None:
        try:
            (found,) = await self.store.ask(request)
            # Written under ``collecting`` only after the await: the router's
            # buffer must never stay installed while other connections run.
            if user in self.core.connections:
                with self.core.replies.collecting(replies):
                    if request.sub == "TARGETS":
                        ch.send_targets(self.core, user, found)
                    else:
                        ch.send_history(self.core, user, request.target, found)
        except Exception as exc:
            # A query task must never take the server down with it.
            if isinstance(exc, StoreUnavailable | StoreQueryError):
                log.warning("history query %s %s failed: %s", request.sub, request.target, exc)
            else:
                log.exception("history query %s %s failed", request.sub, request.target)
            if user in self.core.connections:
                with self.core.replies.collecting(replies):
                    ch.message_error(self.core, user, request)

    # -- replay on join ----------------------------------------------------------

    def on_join(self, server: Server, user: User, channel: Channel) -> None:
        if self.replay_lines <= 0 or self._nursery is None:
            return
        if ch.CAP in user.caps:
            return  # it will ask with CHATHISTORY, as it sees fit
        joined = user.ext.setdefault(REPLAYED, set())
        if channel.key in joined:
            return  # a rejoin on the same connection: it has seen the replay already
        joined.add(channel.key)
        now = server.micros(server.clock())
        missed_since = self.missed_since(user, channel.key)
        epoch = ch.history_epoch(server, channel)
        since = epoch if missed_since is None else max(epoch or 0, missed_since + 1)
        # Only what was said before the join (later lines arrive live): the newest
        # lines before now, but none the person has already seen.
        request = ch.HistoryRequest(
            "BEFORE",
            channel.name,
            (("timestamp", now),),
            # Bots' lines are left out after the read: room for some of them.
            self.replay_lines if self.replay_bots else 2 * self.replay_lines,
            ch.MESSAGE_KINDS,
            since,
            ch.viewer_of(user),
        )
        pending = pending_replays(user)
        scope = pending.scopes[channel.key] = trio.CancelScope()
        self._nursery.start_soon(self._replay, user, request, missed_since is not None,
                                 pending, channel.key, scope)

    def missed_since(self, user: User, key: str) -> int | None:
        """When this person last saw ``key`` (µs): the later of their account's read
        marker and their account's last departure from it; None for someone unknown."""
        seen = []
        times = getattr(user.ext.get(READ_MARKERS), "times", None)
        if isinstance(times, dict) and isinstance(times.get(key), int):
            # A marker is a whole millisecond: it has read that millisecond's lines.
            seen.append(times[key] // 1000 * 1000 + 999)
        if user.account is not None:
            left = self._left.get((casefold(user.account), key))
            if left is not None:
                seen.append(left)
        return max(seen) if seen else None

    @listens_to(events.RenameEvent, events.LeaveEvent)
    def on_event(self, event: events.Event) -> None:
        """Remember when an account left a channel (part, kick, quit): what was said
        after that is what it missed."""
        if type(event) is events.RenameEvent:
            self._renamed(casefold(event.old), casefold(event.new))
            return
        if not isinstance(event, events.LeaveEvent):
            return
        user = self.core.find_user(event.nick)  # still known during its quit
        if user is None:
            return
        key = casefold(event.channel)
        pending = user.ext.get(PENDING_REPLAYS)
        if isinstance(pending, PendingReplays):
            pending.drop(key)
        if user.account is None:
            return
        entry = (casefold(user.account), key)
        self._left.pop(entry, None)
        self._left[entry] = event.micros
        while len(self._left) > MAX_DEPARTURES:
            del self._left[next(iter(self._left))]  # the oldest departure

    def _renamed(self, old: str, new: str) -> None:
        """A channel's key changed (RENAME): what it missed, and whether it has had
        its replay, follow the channel; the store moves the lines themselves."""
        if old == new:
            return
        for entry in [e for e in self._left if e[1] in (old, new)]:
            micros = self._left.pop(entry)
            if entry[1] == old:
                self._left[(entry[0], new)] = micros
        for user in self.core.connections:
            pending = user.ext.get(PENDING_REPLAYS)
            if isinstance(pending, PendingReplays):
                # Its request names the old channel, which is gone: not sent.
                pending.drop(old)
            joined = user.ext.get(REPLAYED)
            if isinstance(joined, set):
                had = old in joined
                joined.discard(old)
                joined.discard(new)
                if had:
                    joined.add(new)

    async def _replay(
        self, user: User, request: ch.HistoryRequest, known: bool, pending: PendingReplays,
        key: str, scope: trio.CancelScope,
    ) -> None:
        channel_name = request.target
        try:
            with scope:
                async with pending.turns:
                    (records,) = await self.store.ask(request)
                if not self.replay_bots:
                    records = [r for r in records if "bot" not in r.tags][-self.replay_lines:]
                channel = self.core.find_channel(channel_name)
                if records and channel is not None and channel.key in user.channels:
                    self.send_replay(user, channel.name, records, known)
        except StoreUnavailable as exc:
            log.debug("no history replay for %s in %s: %s", user.nick, channel_name, exc)
        except Exception:
            log.exception("history replay for %s in %s failed", user.nick, channel_name)
        finally:
            if pending.scopes.get(key) is scope:
                del pending.scopes[key]

    def send_replay(
        self, user: User, channel: str, records: Sequence[HistoryRecord], known: bool,
    ) -> None:
        core = self.core
        if "server-time" not in user.caps:
            # Its client would stamp every line with the join's time.
            now = core.micros(core.clock())
            records = [self._stamped(r, now) for r in records]
        count = plural(len(records), "line")
        when = "said since you left" if known else "said before you joined"
        core.send_from_server(user, "NOTICE", channel, f"*** replaying {count} {when}")
        ch.send_history(core, user, channel, records)
        core.send_from_server(user, "NOTICE", channel, "*** end of replay")

    def _stamped(self, record: HistoryRecord, now: int) -> HistoryRecord:
        text = ch.stamp_text(record.text, record.micros, now)
        if is_stored_multiline(record.kind, record.text, record.tags):
            # The stamp goes on the first line; each line is cut to fit as it is sent.
            return replace(record, text=text,
                           tags=shift_offsets(record.tags, len(text) - len(record.text)))
        # The stamp lengthens a line that may have filled 512 bytes: cut to fit.
        return replace(record, text=self.core.fit_trailing(
            f":{record.source} {record.kind} {record.target} :", text))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# Room for the prefix, the nick and the CRLF within IRC's 512 bytes.
NOTICE_TEXT_MAX = 380


def notice_opers(core: Server, text: str) -> None:
    """A server NOTICE to every connected operator (the store's outages)."""
    data = text.encode()
    if len(data) > NOTICE_TEXT_MAX:
        text = data[: NOTICE_TEXT_MAX - 3].decode(errors="ignore") + "..."
    for user in core.connections:
        if user.registered and user.oper:
            core.send_from_server(user, "NOTICE", user.nick, f"*** {text}")


def open_store(config: Config) -> StoreClient:
    """The client of the history worker for ``[storage]`` (nothing starts yet)."""
    try:
        return StoreClient(settings_from_config(config), config.base_dir)
    except ValueError as exc:
        raise ConfigError(config.path, "storage", str(exc)) from exc


CHATHISTORY_HELP = (
    "CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <reference> <limit>\n"
    "CHATHISTORY BETWEEN <target> <reference> <reference> <limit>\n"
    "CHATHISTORY TARGETS <timestamp> <timestamp> <limit>\n"
    "Messages from the server's history (IRCv3 draft/chathistory). A reference is\n"
    "msgid=<id>, timestamp=<time> or *; the answer comes in a chathistory batch."
)


def history_feature(app: IrcServer, store: StoreClient) -> Extension:
    """Persistent history: what it adds to a server, in one value."""
    service = HistoryService(app, store)
    store.on_outage.append(lambda text: notice_opers(app.core, text))
    return Extension(
        name="history",
        commands=(Command("CHATHISTORY", service.on_command, help=CHATHISTORY_HELP),),
        capabilities={ch.CAP: "", ch.EVENT_PLAYBACK_CAP: ""},
        isupport={"CHATHISTORY": str(service.max_limit), "MSGREFTYPES": "msgid,timestamp"},
        # Every event the core emits goes to the writer, which keeps what it stores.
        event_listeners=(store.submit, service.on_event),
        join_listeners=(service.on_join,),
        services=(service.serve,),
        shutdown_steps=(service.flush,),
        owner=service,
    )
