"""The read-marker feature: ``MARKREAD``, the ``draft/read-marker`` capability, and
a MARKREAD in every JOIN burst before the names.

``read_marker_feature(app, store)`` is listed by ``ircish.app.build_server``
always; ``store`` is the history worker's client when ``[storage]`` is
configured (markers of logged-in users are kept per account in the database,
table ``read_markers``), else None (every connection keeps its own, in memory).

A JOIN must carry the marker at once, so an account's markers are read in when
its first connection logs in or completes registration: that client's next
lines wait for them (``run_blocking``), as they wait for a password check. A
change goes to the database from a task and to the account's other
connections that negotiated the capability.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

import trio

from ircish.accounts.records import NO_SUCH, AccountRequest
from ircish.core import events
from ircish.core.chathistory import format_time, parse_timestamp
from ircish.core.commands import Command
from ircish.core.extension import Extension, listens_to
from ircish.core.membership import valid_channel_name
from ircish.core.nicks import valid_nick
from ircish.protocol.casemap import casefold
from ircish.readmarker.markers import Markers

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.readmarker")

CAP = "draft/read-marker"
EXT = "read-marker"
PREFIX = "timestamp="


class ReadMarkers:
    def __init__(self, app: IrcServer, store: StoreClient | None) -> None:
        self.core: Server = app.core
        self.store = store
        # Live accounts only: the entry goes when the last connection holding it does.
        self._accounts: weakref.WeakValueDictionary[str, Markers] = weakref.WeakValueDictionary()
        self._nursery: trio.Nursery | None = None

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    # ---- whose markers -----------------------------------------------------------

    def of(self, user: User) -> Markers:
        """The markers ``user`` reads and sets now (its account's, or its own)."""
        markers = user.ext.get(EXT)
        account = casefold(user.account) if user.account is not None else None
        if isinstance(markers, Markers) and markers.account == account:
            return markers
        return self._attach(user, account)

    def _attach(self, user: User, account: str | None) -> Markers:
        old = user.ext.get(EXT)
        if isinstance(old, Markers):
            old.sessions.discard(user)
        markers = self._accounts.get(account) if account is not None else None
        if markers is None:
            markers = Markers(account)
            if account is not None:
                self._accounts[account] = markers
        markers.sessions.add(user)
        user.ext[EXT] = markers
        if not markers.loaded and self.store is not None:
            self._load(user, markers)
        elif user.channels:
            # Logged in after joining: the channels now have the account's markers.
            self._resend(user, markers, list(user.channels))
        return markers

    def _load(self, user: User, markers: Markers) -> None:
        store, account = self.store, markers.account
        assert store is not None and account is not None
        markers.loaded = True  # one read per account, even if it fails

        def read() -> Any:
            try:
                return trio.from_thread.run(store.account, AccountRequest("read_markers",
                                                                          (account,)))
            except Exception as exc:  # the worker restarting, or a failed query
                return exc

        def then(stored: Any) -> None:
            if isinstance(stored, Exception) or stored == NO_SUCH:
                log.warning("read markers of %r not read: %s", account, stored)
                return
            markers.merge(stored)
            for session in self._live(markers):
                self._resend(session, markers, list(session.channels))

        # The client's next lines (its JOINs) wait for the stored markers.
        self.core.run_blocking(user, read, then)

    def _live(self, markers: Markers) -> list[User]:
        live = self.core.connections
        markers.sessions &= live
        return list(markers.sessions)

    def _resend(self, user: User, markers: Markers, keys: list[str]) -> None:
        if CAP not in user.caps:
            return
        for key in keys:
            channel = user.channels.get(key)
            if channel is not None and key in markers.times:
                self._send(user, channel.name, markers.times[key])

    def _send(self, user: User, target: str, micros: int | None) -> None:
        value = PREFIX + format_time(micros) if micros is not None else "*"
        self.core.send_from_server(user, "MARKREAD", target, value)

    # ---- events and the JOIN burst ----------------------------------------------------

    @listens_to(events.RenameEvent, events.WelcomeEvent, events.AccountEvent)
    def on_event(self, event: events.Event) -> None:
        if type(event) is events.RenameEvent:
            old, new = casefold(event.old), casefold(event.new)
            every = {id(m): m for m in self._accounts.values()}
            for user in self.core.connections:
                markers = user.ext.get(EXT)
                if isinstance(markers, Markers):
                    every[id(markers)] = markers
            for markers in every.values():
                markers.rename(old, new)
            return
        if isinstance(event, events.WelcomeEvent | events.AccountEvent):
            user = self.core.find_user(event.nick)
            # Only a user with an account, or markers already, needs them now.
            if user is not None and user.registered and (user.account or EXT in user.ext):
                self.of(user)

    def before_names(self, server: Server, user: User, channel: Channel) -> None:
        if CAP in user.caps:
            self._send(user, channel.name, self.of(user).times.get(channel.key))

    # ---- MARKREAD ------------------------------------------------------------------

    def markread(self, server: Server, user: User, msg: Message) -> None:
        if not msg.params or not msg.params[0]:
            server.fail(user, "MARKREAD", "NEED_MORE_PARAMS", "Missing parameters")
            return
        target = self._target(server, msg.params[0])
        if target is None:
            server.fail(user, "MARKREAD", "INVALID_PARAMS", msg.params[0],
                        "Not a channel or nickname")
            return
        markers = self.of(user)
        key = casefold(target)
        if len(msg.params) == 1:
            self._send(user, target, markers.times.get(key))
            return
        raw = msg.params[1]
        micros = parse_timestamp(raw[len(PREFIX):]) if raw.startswith(PREFIX) else None
        if micros is None or micros < 0:
            server.fail(user, "MARKREAD", "INVALID_PARAMS", raw,
                        "The timestamp must be timestamp=YYYY-MM-DDThh:mm:ss.sssZ")
            return
        # A marker in the future would hold back every later one.
        micros = min(micros, server.micros(server.clock()))
        now, changed = markers.advance(key, micros)
        if now is None:
            server.fail(user, "MARKREAD", "INTERNAL_ERROR", target,
                        "Too many read markers: the timestamp could not be set")
            return
        self._send(user, target, now)
        if not changed:
            return
        for session in self._live(markers):
            if session is not user and CAP in session.caps:
                self._send(session, target, now)
        if markers.account is not None:
            self._save(markers.account, key, now)

    @staticmethod
    def _target(server: Server, name: str) -> str | None:
        """``name`` as the server spells it (a known channel or nick), or as given;
        None if it could be neither."""
        limits = server.limits
        if name.startswith("#"):
            if not valid_channel_name(name, limits.channel_length):
                return None
            channel = server.find_channel(name)
            return channel.name if channel is not None else name
        if not valid_nick(name, limits.nick_length):
            return None
        other = server.find_user(name)
        return other.nick if other is not None else name

    def _save(self, account: str, key: str, micros: int) -> None:
        if self.store is None or self._nursery is None:
            return
        store = self.store

        async def save() -> None:
            try:
                await store.account(AccountRequest("read_marker_set", (account, key, micros)))
            except Exception as exc:
                log.warning("read marker of %r for %s not stored: %s", account, key, exc)

        self._nursery.start_soon(save)


MARKREAD_HELP = (
    "MARKREAD <target> [timestamp=<time>]\n"
    "Ask where you last read in a channel or private conversation, or move the\n"
    "mark forward (IRCv3 draft/read-marker); it is kept for your account."
)


def read_marker_feature(app: IrcServer, store: StoreClient | None = None) -> Extension:
    owner = ReadMarkers(app, store)
    return Extension(
        name="read-marker",
        # Clients send MARKREAD by themselves as the user scrolls: not idle time.
        commands=(Command("MARKREAD", owner.markread, help=MARKREAD_HELP,
                          counts_as_activity=False),),
        capabilities={CAP: ""},
        event_listeners=(owner.on_event,),
        names_listeners=(owner.before_names,),
        services=(owner.serve,),
        owner=owner,
    )
