"""The history store wired into a running server.

``history_feature(app, store)`` is listed by ``ircish.app.build_server`` when
``[storage] url`` is set. Its extension adds, without the core knowing about the store:

- every event the core emits goes to the writer (``Store.submit``);
- capabilities ``draft/chathistory`` and ``draft/event-playback``, ISUPPORT
  ``CHATHISTORY=<max>`` and ``MSGREFTYPES=msgid,timestamp``;
- the CHATHISTORY command: parsed and access-checked synchronously by
  ``ircish.core.chathistory``, answered from a task once the history worker
  process has sent the rows;
- replay on join for clients without ``draft/chathistory``;
- a service in the server's nursery: start the history worker (it migrates,
  then runs the writer and the retention job), restore persistent channels;
  and a shutdown step that flushes;
- a server NOTICE to connected operators when history cannot be written, and
  when it can again.

The store is a ``client.StoreClient``: nothing here imports SQLAlchemy.

Queries first flush the writer (bounded), so a client always finds the lines
it has just seen, even those still waiting for their batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

import trio

from ircish.config import Config, ConfigError
from ircish.core import chathistory as ch
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.store.client import StoreClient
from ircish.store.errors import StorageError, StoreQueryError, StoreUnavailable
from ircish.store.records import MsgidRef, Ref, TimeRef, Viewer, to_micros
from ircish.store.service import notice_opers
from ircish.store.settings import DEFAULT_EVENTS, StoreSettings

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.store")

# How long a query waits for the writer to commit the newest lines before it
# reads anyway (when the database is struggling, a slightly stale answer beats
# no answer).
FLUSH_BEFORE_READ_S = 1.0
# Requests one client may have in flight; more are refused, not queued.
MAX_IN_FLIGHT = 4


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


def _ref(ref: ch.Ref | None) -> Ref | None:
    if ref is None:
        return None
    if ref[0] == "msgid":
        return MsgidRef(ref[1])
    return TimeRef(ref[1])


class HistoryService:
    def __init__(self, app: IrcServer, store: StoreClient) -> None:
        self.app = app
        self.core: Server = app.core
        self.store = store
        history = app.config.history
        self.max_limit = history.chathistory_max
        self.replay_lines = history.replay_on_join
        self._nursery: trio.Nursery | None = None
        self._in_flight: Counter[int] = Counter()

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                try:
                    # Starts the worker: it migrates and loads persistent channels.
                    await nursery.start(self.store.run)
                except StorageError as exc:
                    raise ConfigError(app.config.path, "storage.url", str(exc)) from exc
                self.restore_channels()
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    async def flush(self) -> None:
        await self.store.flush()

    # -- persistent channels ---------------------------------------------------

    def restore_channels(self) -> None:
        states = self.store.restored
        for state in states:
            channel = self.core.get_or_create_channel(state.name)
            channel.modes = (set(state.modes.lstrip("+")) - {"k", "l"}) | {"P"}
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
        if self._nursery is None or self._in_flight[id(user)] >= MAX_IN_FLIGHT:
            ch.message_error(server, user, request)
            return
        channels = list(user.channels.values())
        self._in_flight[id(user)] += 1
        # The answer comes after the store's reply; a label must still go on it.
        replies = server.defer_replies(user)
        self._nursery.start_soon(self._answer, user, request, channels, replies)

    async def _answer(
        self,
        user: User,
        request: ch.HistoryRequest,
        channels: list[Channel],
        replies: Replies | None,
    ) -> None:
        try:
            await self._answer_unguarded(user, request, channels, replies)
        except Exception as exc:
            # A query task must never take the server down with it.
            if isinstance(exc, StoreUnavailable | StoreQueryError):
                log.warning("history query %s %s failed: %s", request.sub, request.target, exc)
            else:
                log.exception("history query %s %s failed", request.sub, request.target)
            if user in self.core.connections:
                with self.core.replies.collecting(replies):
                    ch.message_error(self.core, user, request)
        finally:
            self._in_flight[id(user)] -= 1
            if not self._in_flight[id(user)]:
                del self._in_flight[id(user)]

    async def _answer_unguarded(
        self,
        user: User,
        request: ch.HistoryRequest,
        channels: list[Channel],
        replies: Replies | None,
    ) -> None:
        # Writes happen under ``collecting`` only after the awaits: the router's
        # buffer must never stay installed while other connections run.
        viewer = Viewer(user.nick, user.account, user.session)
        with trio.move_on_after(FLUSH_BEFORE_READ_S):
            await self.store.flush()
        if request.sub == "TARGETS":
            start, end = (r[1] for r in request.refs if r is not None)
            epochs = {c.name: ch.history_epoch(self.core, c) for c in channels}
            found = await self.store.reader.targets(
                viewer,
                int(start),
                int(end),
                request.limit,
                channels=list(epochs),
                since={name: at for name, at in epochs.items() if at is not None},
            )
            if user in self.core.connections:
                with self.core.replies.collecting(replies):
                    ch.send_targets(self.core, user, found)
            return
        records = await self._query(request, viewer)
        if user in self.core.connections:
            with self.core.replies.collecting(replies):
                ch.send_history(self.core, user, request.target, records)

    async def _query(self, request: ch.HistoryRequest, viewer: Viewer) -> list:  # type: ignore[type-arg]
        reader, target, limit = self.store.reader, request.target, request.limit
        scope = {"kinds": request.kinds, "since": request.since}
        refs = [_ref(r) for r in request.refs]
        sub = request.sub
        if sub == "LATEST":
            return await reader.latest(target, viewer, limit, after=refs[0], **scope)
        first = refs[0]
        assert first is not None
        if sub == "BEFORE":
            return await reader.before(target, viewer, first, limit, **scope)
        if sub == "AFTER":
            return await reader.after(target, viewer, first, limit, **scope)
        if sub == "AROUND":
            return await reader.around(target, viewer, first, limit, **scope)
        second = refs[1]
        assert second is not None
        return await reader.between(target, viewer, first, second, limit, **scope)

    # -- replay on join ----------------------------------------------------------

    def on_join(self, server: Server, user: User, channel: Channel) -> None:
        if self.replay_lines <= 0 or self._nursery is None:
            return
        if ch.CAP in user.caps:
            return  # it will ask with CHATHISTORY, as it sees fit
        joined_at = to_micros(server.now_dt(server.clock()))
        since = ch.history_epoch(server, channel)
        self._nursery.start_soon(self._replay, user, channel.name, joined_at, since)

    async def _replay(
        self, user: User, channel_name: str, joined_at: int, since: int | None
    ) -> None:
        try:
            with trio.move_on_after(FLUSH_BEFORE_READ_S):
                await self.store.flush()
            # Only what was said before the join: later lines arrive live.
            records = await self.store.reader.before(
                channel_name,
                Viewer(user.nick, user.account, user.session),
                TimeRef(joined_at),
                self.replay_lines,
                since=since,
            )
            channel = self.core.find_channel(channel_name)
            if records and channel is not None and channel.key in user.channels:
                ch.send_history(self.core, user, channel.name, records)
        except StoreUnavailable as exc:
            log.debug("no history replay for %s in %s: %s", user.nick, channel_name, exc)
        except Exception:
            log.exception("history replay for %s in %s failed", user.nick, channel_name)


def open_store(config: Config) -> StoreClient:
    """The client of the history worker for ``[storage]`` (nothing starts yet)."""
    try:
        return StoreClient(settings_from_config(config), config.base_dir)
    except ValueError as exc:
        raise ConfigError(config.path, "storage", str(exc)) from exc


def history_feature(app: IrcServer, store: StoreClient) -> Extension:
    """Persistent history: what it adds to a server, in one value."""
    service = HistoryService(app, store)
    store.on_outage.append(lambda text: notice_opers(app.core, text))
    return Extension(
        name="history",
        commands=(Command("CHATHISTORY", service.on_command),),
        capabilities={ch.CAP: "", ch.EVENT_PLAYBACK_CAP: ""},
        isupport={"CHATHISTORY": str(service.max_limit), "MSGREFTYPES": "msgid,timestamp"},
        # Every event the core emits goes to the writer, which keeps what it stores.
        event_listeners=(store.submit,),
        join_listeners=(service.on_join,),
        services=(service.serve,),
        shutdown_steps=(service.flush,),
        owner=service,
    )
