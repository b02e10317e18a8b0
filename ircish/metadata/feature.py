"""The metadata feature: ``METADATA``, the ``draft/metadata-2`` and ``draft/metadata-3``
capabilities (``ircish.metadata.dialect`` says how they differ), the notifications
to subscribers, the batches on registration and JOIN, and 760 in WHOIS.

``metadata_feature(app, store)`` is listed by ``ircish.app.build_server`` always.
With ``[storage]`` (``store`` is the history worker's client) a logged-in user's
keys are kept with the account (table ``account_metadata``) and a registered
channel's with its registration (``channel_metadata``); both go through the
worker (``ircish.store.metadata``). Everything else, and everything without
``[storage]``, lives in memory: a connection's keys for as long as it is
connected, an unregistered channel's for as long as the channel exists.

The rules (keys, limits, permissions, subscriptions) are ``ircish.metadata.rules``;
the limits come from ``[limits] metadata_max_keys``, ``metadata_max_subs`` and
``metadata_max_value_bytes`` and follow a reload.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import trio

from ircish.accounts.records import NO_SUCH, AccountRequest
from ircish.core import events
from ircish.core.commands import Command
from ircish.core.extension import Extension, listens_to
from ircish.core.replies import batch_lines, new_batch_id, server_line
from ircish.metadata import rules
from ircish.metadata.dialect import CAPS, V2, aware, dialect_of
from ircish.metadata.rules import Entries, Limits
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.config import Config
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.metadata")

EXT = "metadata"
VERB = "METADATA"
RPL_WHOISKEYVALUE = "760"
RPL_KEYVALUE = "761"
RPL_KEYNOTSET = "766"
RPL_METADATASUBOK = "770"
RPL_METADATAUNSUBOK = "771"
RPL_METADATASUBS = "772"
RPL_METADATASYNCLATER = "774"
# A JOIN whose metadata batch would be longer is told to SYNC later instead.
SYNC_LATER_LINES = 1000
# Keys per 770/771/772 line: 8 keys of at most 64 bytes fit any line.
KEYS_PER_LINE = 8
SUBCOMMANDS = frozenset({"GET", "LIST", "SET", "CLEAR", "SUB", "UNSUB", "SUBS", "SYNC"})
# What a client may do before registration (``before-connect``): its own keys only.
BEFORE_CONNECT = frozenset({"GET", "LIST", "SET", "CLEAR", "SUB", "UNSUB", "SUBS"})


class Session:
    """One connection's metadata state: the entries it shows (its own, or its
    account's), its subscriptions and its rate limit."""

    __slots__ = ("entries", "rate", "subs")

    def __init__(self, entries: Entries, rate: rules.RateLimit) -> None:
        self.entries = entries
        self.subs: set[str] = set()
        self.rate = rate


class Metadata:
    def __init__(self, app: IrcServer, store: StoreClient | None,
                 limits: Limits | None = None) -> None:
        self.core: Server = app.core
        self.store = store
        self.limits = limits or Limits()
        # Live accounts only: an entry goes when the last connection showing it does.
        self._accounts: weakref.WeakValueDictionary[str, Entries] = weakref.WeakValueDictionary()
        # By channel key. Registered channels' entries are read at start.
        self.channels: dict[str, Entries] = {}
        # Channels whose entries are in the database (registered when last seen).
        self._stored_channels: set[str] = set()
        self._writes: trio.MemorySendChannel[AccountRequest] | None = None
        # Changes sent to the writer and not yet answered by the store.
        self._pending = 0
        self._drained = trio.Event()

    # ---- the store -------------------------------------------------------------------

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        send, receive = trio.open_memory_channel[AccountRequest](10_000)
        if self.store is not None:
            await self._read_channels()
        self._writes = send
        task_status.started()
        try:
            # One writer, so two changes of one key reach the database in order.
            async for request in receive:
                await self._write(request)
                self._pending -= 1
                if self._pending == 0:
                    self._drained.set()
        finally:
            self._writes = None

    async def drain(self) -> None:
        """At shutdown, while the store still runs: let the changes made reach it."""
        if self._pending:
            self._drained = trio.Event()
            await self._drained.wait()

    async def _read_channels(self) -> None:
        assert self.store is not None
        try:
            rows = await self.store.account(AccountRequest("metadata_channels"))
        except Exception as exc:  # the worker restarting: start with none
            log.warning("channel metadata not read: %s", exc)
            return
        for channel_key, key, value in rows:
            self.channels.setdefault(channel_key, Entries()).values[key] = value
            self._stored_channels.add(channel_key)

    async def _write(self, request: AccountRequest) -> None:
        assert self.store is not None
        try:
            await self.store.account(request)
        except Exception as exc:
            log.warning("metadata change (%s) not stored: %s", request.op, exc)

    def _save(self, request: AccountRequest) -> None:
        if self.store is None or self._writes is None:
            return
        try:
            self._writes.send_nowait(request)
            self._pending += 1
        except trio.WouldBlock:
            log.warning("metadata change (%s) not stored: too many waiting", request.op)

    def _save_user(self, entries: Entries, key: str) -> None:
        if entries.account is not None:
            self._save(AccountRequest("metadata_set",
                                      (entries.account, key, entries.values.get(key))))

    def _save_channel(self, channel: Channel, key: str | None) -> None:
        """Store a registered channel's change (``key`` None: every key, after CLEAR
        or when the channel was just registered)."""
        if channel.founder is None:
            return
        self._stored_channels.add(channel.key)
        entries = self.channels.get(channel.key)
        values = entries.values if entries is not None else {}
        if key is None:
            self._save(AccountRequest("metadata_channel_replace",
                                      (channel.key, tuple(values.items()))))
        else:
            self._save(AccountRequest("metadata_channel_set",
                                      (channel.key, key, values.get(key))))

    # ---- whose entries ---------------------------------------------------------------

    def session(self, user: User) -> Session:
        found = user.ext.get(EXT)
        if isinstance(found, Session):
            return found
        entries = Entries()
        entries.sessions.add(user)
        session = Session(entries, rules.RateLimit(self.limits.rate_burst, self.core.clock()))
        user.ext[EXT] = session
        return session

    def entries_of(self, user: User) -> Entries:
        return self.session(user).entries

    def reloaded(self, config: Config) -> None:
        """New limits from the next command on (the capability value too); what is
        over a lowered limit stays, only more is refused."""
        self.limits = Limits.of(config.limits)
        for cap in CAPS:
            self.core.capabilities[cap] = self.limits.cap_value()

    def on_cap_dropped(self, server: Server, user: User, cap: str) -> None:
        """``CAP REQ -draft/metadata-N``: with neither draft left, the client reads no
        notifications, so its subscriptions go (a later REQ starts with none, as a new
        client does). Dropping one of two keeps them: the other draft still reads them."""
        if cap not in CAPS or aware(user.caps):
            return
        session = user.ext.get(EXT)
        if isinstance(session, Session):
            session.subs.clear()

    def on_login(self, user: User) -> None:
        """A connection logged in: it shows its account's keys from now on."""
        if user.account is None:
            return
        session = self.session(user)
        account = casefold(user.account)
        if session.entries.account == account:
            return
        own = session.entries
        own.sessions.discard(user)
        shared = self._accounts.get(account)
        if shared is None:
            shared = Entries(account)
            self._accounts[account] = shared
            if self.store is None:
                shared.loaded = True
        shared.sessions.add(user)
        session.entries = shared
        # What this connection set itself is the latest write: it wins (stored
        # here at once if the account's keys are in, else once they are read).
        for key, value in own.values.items():
            if shared.set(key, value, self.limits.max_keys) and shared.loaded:
                self._save_user(shared, key)
                self._notify_user(shared, key, actor=user)
        if not shared.loaded:
            self._load(user, shared)

    def on_logout(self, user: User) -> None:
        session = user.ext.get(EXT)
        if not isinstance(session, Session) or session.entries.account is None:
            return
        # The connection keeps showing the same keys, now as its own.
        session.entries.sessions.discard(user)
        own = Entries()
        own.values.update(session.entries.values)
        own.sessions.add(user)
        session.entries = own

    def _load(self, user: User, entries: Entries) -> None:
        store, account = self.store, entries.account
        assert store is not None and account is not None
        entries.loaded = True  # one read per account, even if it fails

        def read() -> Any:
            try:
                return trio.from_thread.run(store.account,
                                            AccountRequest("metadata_get", (account,)))
            except Exception as exc:  # the worker restarting, or a failed query
                return exc

        def then(stored: Any) -> None:
            if isinstance(stored, Exception) or stored == NO_SUCH:
                log.warning("metadata of %r not read: %s", account, stored)
                return
            mine = dict(entries.values)
            for key in entries.merge_stored(stored, self.limits.max_keys):
                self._notify_user(entries, key, actor=None)
            stored_values = dict(stored)
            for key, value in mine.items():
                if stored_values.get(key) != value:
                    self._save_user(entries, key)

        # The client's next lines (CAP END, its JOINs) wait for the stored keys.
        self.core.run_blocking(user, read, then)

    def _live(self, entries: Entries) -> list[User]:
        live = self.core.connections
        entries.sessions &= live  # type: ignore[operator]
        return list(entries.sessions)  # type: ignore[arg-type]

    # ---- notifications -----------------------------------------------------------------

    def _subscribed(self, user: User, key: str) -> bool:
        session = user.ext.get(EXT)
        return (user.registered and aware(user.caps) and isinstance(session, Session)
                and key in session.subs)

    def _change_line(self, to: User, target: str, key: str, value: str | None) -> bytes:
        """A change or a current value as ``to``'s draft says: 761/766 or METADATA."""
        if not dialect_of(to.caps).numerics:
            params = [target, key, "*"] if value is None else [target, key, "*", value]
            return server_line(self.core.name, VERB, params)
        if value is None:
            return self.core.format_numeric(to.nick, RPL_KEYNOTSET, (target, key, "Key not set"))
        return self.core.format_numeric(to.nick, RPL_KEYVALUE, (target, key, "*", value))

    def _key_problem(self, user: User, code: str, *context: str) -> bytes:
        return server_line(self.core.name, dialect_of(user.caps).key_problem,
                           [VERB, code, *context])

    def _bad_params(self, server: Server, user: User, sub: str, text: str) -> None:
        if dialect_of(user.caps) is V2:
            server.numeric(user, "461", VERB, text)
        else:
            server.fail(user, VERB, "INVALID_PARAMS", sub, text)

    def _sync_later(self, server: Server, user: User, target: str) -> None:
        if dialect_of(user.caps).numerics:
            server.numeric(user, RPL_METADATASYNCLATER, target, "0",
                           "Use METADATA SYNC for the current values")
        else:
            server.numeric(user, RPL_METADATASYNCLATER, target, "0")

    def _notify_user(self, entries: Entries, key: str, actor: User | None) -> None:
        """Tell subscribers who see one of ``entries``' connections (sharing a channel,
        monitoring it, or being it) that ``key`` changed."""
        value = entries.values.get(key)
        core = self.core
        for shown in self._live(entries):
            if not shown.registered:
                continue
            audience = core.peers(shown)
            watchers = core.monitors.by_nick.get(shown.key)
            if watchers:
                audience |= set(watchers)
            audience.update(self._live(entries))
            for to in audience:
                if to is not actor and self._subscribed(to, key):
                    core.replies.send(to, self._change_line(to, shown.nick, key, value))

    def _notify_channel(self, channel: Channel, key: str, actor: User | None) -> None:
        entries = self.channels.get(channel.key)
        value = entries.values.get(key) if entries is not None else None
        for to in channel.members:
            if to is not actor and self._subscribed(to, key):
                self.core.replies.send(to, self._change_line(to, channel.name, key, value))

    def _send_batch(self, user: User, kind: str, params: list[str],
                    lines: Iterable[bytes]) -> None:
        """``lines`` in a batch for a client that has ``batch``, one by one otherwise."""
        if "batch" in user.caps:
            data = b"".join(batch_lines(self.core.name, new_batch_id(), kind, params, lines))
        else:
            data = b"".join(lines)
        self.core.replies.send(user, data)

    def _values_for(self, to: User, target: str, values: dict[str, str],
                    keys: Iterable[str] | None) -> list[bytes]:
        """761 for each of ``keys`` (all if None) that is set: GET and LIST."""
        fmt = self.core.format_numeric
        wanted = values if keys is None else (k for k in keys if k in values)
        return [fmt(to.nick, RPL_KEYVALUE, (target, key, "*", values[key])) for key in wanted]

    def _current(self, to: User, target: str, values: dict[str, str],
                 keys: Iterable[str] | None) -> list[bytes]:
        """The current values in ``to``'s draft: SYNC, JOIN and registration batches."""
        wanted = values if keys is None else (k for k in keys if k in values)
        return [self._change_line(to, target, key, values[key]) for key in wanted]

    def _sync_lines(self, to: User, channel: Channel | None, users: Iterable[User],
                    keys: set[str]) -> list[bytes]:
        lines: list[bytes] = []
        if not keys:
            return lines
        if channel is not None:
            entries = self.channels.get(channel.key)
            if entries is not None and entries.values:
                lines += self._current(to, channel.name, entries.values, sorted(keys))
        for other in users:
            if other is to:
                continue
            session = other.ext.get(EXT)
            if isinstance(session, Session) and session.entries.values:
                lines += self._current(to, other.nick, session.entries.values, sorted(keys))
        return lines

    # ---- registration, JOIN, WHOIS, leaving -------------------------------------------

    def on_welcome(self, server: Server, user: User) -> None:
        """Inside the registration burst, before the MOTD: the client's own keys."""
        if not aware(user.caps):
            return
        entries = self.entries_of(user)
        self._send_batch(user, "metadata", [user.nick],
                         self._current(user, user.nick, entries.values, None))

    def after_join(self, server: Server, user: User, channel: Channel) -> None:
        session = user.ext.get(EXT)
        if aware(user.caps):
            keys = session.subs if isinstance(session, Session) else set()
            lines = self._sync_lines(user, channel, channel.members, keys)
            if len(lines) > SYNC_LATER_LINES:
                self._sync_later(server, user, channel.name)
            else:
                self._send_batch(user, "metadata", [channel.name], lines)
        if not isinstance(session, Session) or not session.entries.values:
            return
        # Members who had no channel in common with the joiner learn its keys now.
        values = session.entries.values
        for member in channel.members:
            if member is user or not aware(member.caps):
                continue
            theirs = member.ext.get(EXT)
            if not isinstance(theirs, Session) or not theirs.subs & values.keys():
                continue
            if any(key != channel.key and member in other.members
                   for key, other in user.channels.items()):
                continue
            for key in values:
                if key in theirs.subs:
                    server.replies.send(member, self._change_line(member, user.nick, key,
                                                                  values[key]))

    def in_whois(self, server: Server, user: User, target: User) -> None:
        if not aware(user.caps):
            return
        session = target.ext.get(EXT)
        if isinstance(session, Session):
            for key, value in session.entries.values.items():
                server.numeric(user, RPL_WHOISKEYVALUE, target.nick, key, "*", value)

    @listens_to(events.WelcomeEvent, events.RenameEvent, events.LeaveEvent,
                events.ChannelStateEvent, events.DisconnectEvent)
    def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.WelcomeEvent):
            self._came_online(event.nick)
        elif isinstance(event, events.RenameEvent):
            # The rows follow the registration in the database (ON UPDATE CASCADE).
            old, new = casefold(event.old), casefold(event.new)
            if old != new:
                moved = self.channels.pop(old, None)
                self.channels.pop(new, None)
                if moved is not None:
                    self.channels[new] = moved
                if old in self._stored_channels:
                    self._stored_channels.discard(old)
                    self._stored_channels.add(new)
        elif isinstance(event, events.LeaveEvent):
            self._forget_if_gone(casefold(event.channel))
        elif isinstance(event, events.ChannelStateEvent):
            channel = self.core.find_channel(event.channel)
            if (channel is not None and channel.founder is not None
                    and channel.key not in self._stored_channels
                    and channel.key in self.channels):
                self._save_channel(channel, None)  # just registered: keep what it has
        elif isinstance(event, events.DisconnectEvent):
            for key in [k for k in self.channels if k not in self.core.channels]:
                self._forget_if_gone(key)

    def _came_online(self, nick: str) -> None:
        """After the 730 a watcher got: the newcomer's keys it subscribed to, as a
        batch like SYNC's."""
        user = self.core.find_user(nick)
        watchers = self.core.monitors.by_nick.get(user.key) if user is not None else None
        if user is None or not watchers:
            return
        for watcher in list(watchers):
            session = watcher.ext.get(EXT)
            if aware(watcher.caps) and isinstance(session, Session):
                self._send_batch(watcher, "metadata", [user.nick],
                                 self._sync_lines(watcher, None, [user], session.subs))

    def _forget_if_gone(self, key: str) -> None:
        # A registered channel stays in the server while empty; an unregistered one
        # goes, and its metadata with it.
        if key not in self.core.channels and key not in self._stored_channels:
            self.channels.pop(key, None)

    # ---- METADATA ------------------------------------------------------------------

    def command(self, server: Server, user: User, msg: Message) -> None:
        params = msg.params
        if len(params) < 2:
            self._bad_params(server, user, "*", "Not enough parameters")
            return
        target, sub = params[0], params[1].upper()
        if sub not in SUBCOMMANDS:
            shown = sub if sub and " " not in sub and not sub.startswith(":") else "*"
            if dialect_of(user.caps) is V2:
                server.fail(user, VERB, "SUBCOMMAND_INVALID", shown, "Invalid subcommand")
            else:
                server.fail(user, VERB, "INVALID_PARAMS", shown, f'Unknown subcommand "{sub}"')
            return
        if not user.registered and (sub not in BEFORE_CONNECT or target != "*"):
            server.fail(user, VERB, "INVALID_TARGET", target,
                        "Before registration only your own metadata (*) can be used")
            return
        args = params[2:]
        if sub in ("SUB", "UNSUB", "SUBS"):
            self._subscriptions(server, user, target, sub, args)
        elif sub == "SYNC":
            self._sync(server, user, target)
        else:
            self._target_command(server, user, target, sub, args)

    def _resolve(self, server: Server, user: User,
                 target: str) -> tuple[str, Entries | None, Channel | None, User | None] | None:
        """(name to show, entries, channel, user) for ``target``, or None if there is
        no such target. Entries are None for a channel without metadata yet."""
        if target == "*" or (user.registered and casefold(target) == user.key):
            return user.nick, self.entries_of(user), None, user
        if target.startswith("#"):
            channel = server.find_channel(target)
            if channel is None:
                return None
            access = rules.channel_access(channel.modes, user in channel.members, user.oper)
            if access == "hidden":
                return None
            return channel.name, self.channels.get(channel.key), channel, None
        other = server.find_user(target)
        if other is None or not other.registered:
            return None
        return other.nick, self.entries_of(other), None, other

    def _target_command(self, server: Server, user: User, target: str, sub: str,
                        args: list[str]) -> None:
        found = self._resolve(server, user, target)
        if found is None:
            server.fail(user, VERB, "INVALID_TARGET", target, "Invalid metadata target")
            return
        name, entries, channel, other = found
        closed = channel is not None and rules.channel_access(
            channel.modes, user in channel.members, user.oper) == "closed"
        values = entries.values if entries is not None else {}
        fmt = server.format_numeric
        dialect = dialect_of(user.caps)
        if sub == "GET":
            if not args:
                self._bad_params(server, user, "GET", "Not enough parameters")
                return
            lines = []
            for key in args:
                if not rules.valid_key(key, self.limits):
                    lines.append(self._key_problem(user, dialect.invalid_key, key,
                                                   "Invalid key"))
                elif closed:
                    lines.append(self._key_problem(user, "KEY_NO_PERMISSION", name, key,
                                                   "Permission denied"))
                elif key in values:
                    lines.append(fmt(user.nick, RPL_KEYVALUE, (name, key, "*", values[key])))
                else:
                    lines.append(fmt(user.nick, RPL_KEYNOTSET, (name, key, "Key not set")))
            self._send_batch(user, "metadata", [name], lines)
            return
        if sub == "LIST":
            if closed:
                lines = [self._key_problem(user, "KEY_NO_PERMISSION", name, "*",
                                           "Permission denied")]
            else:
                lines = self._values_for(user, name, values, None)
            self._send_batch(user, "metadata", [name], lines)
            return
        # SET and CLEAR change the target.
        if channel is not None:
            allowed = rules.may_edit_channel(channel.is_op(user), user.oper)
        else:
            allowed = rules.may_edit_user(other is user, user.oper)
        key = args[0] if sub == "SET" and args else "*"
        if sub == "SET" and not args:
            self._bad_params(server, user, "SET", "Not enough parameters")
            return
        if sub == "SET" and not rules.valid_key(key, self.limits):
            server.fail(user, VERB, dialect.invalid_key, key, "Invalid key")
            return
        if not allowed:
            server.fail(user, VERB, "KEY_NO_PERMISSION", name, key,
                        f"You may not change the metadata of {name}")
            return
        value = args[1] if len(args) > 1 and args[1] != "" else None
        if value is not None and not rules.valid_value(value, self.limits):
            text = f"A value is UTF-8 of at most {self.limits.max_value_bytes} bytes"
            if dialect is V2:
                server.fail(user, VERB, dialect.invalid_value, text)
            else:
                server.fail(user, VERB, dialect.invalid_value, key, text)
            return
        if (sub == "SET" and value is None and dialect.unset_missing_fails
                and key not in values):
            server.fail(user, VERB, "KEY_NOT_SET", name, key, "Key not set")
            return
        wait = self.session(user).rate.take(server.clock(), self.limits)
        if wait:
            server.fail(user, VERB, "RATE_LIMITED", name, key, str(wait),
                        f"Too many changes: try again in {wait} s")
            return
        if entries is None:
            assert channel is not None
            entries = self.channels.setdefault(channel.key, Entries())
        if sub == "CLEAR":
            cleared = entries.clear()
            self._send_batch(user, "metadata", [name], [
                fmt(user.nick, RPL_KEYNOTSET, (name, k, "Key not set")) for k in cleared])
            for k in cleared:
                self._changed(entries, channel, k, user)
            if channel is not None and cleared:
                self._save_channel(channel, None)
            return
        changed = entries.set(key, value, self.limits.max_keys)
        if changed is None:
            text = f"{name} has {self.limits.max_keys} keys already"
            if dialect is V2:
                server.fail(user, VERB, "LIMIT_REACHED", name, text)
            else:
                server.fail(user, VERB, "LIMIT_REACHED", name, str(self.limits.max_keys), text)
            return
        if value is None:
            server.numeric(user, RPL_KEYNOTSET, name, key, "Key not set")
        else:
            server.numeric(user, RPL_KEYVALUE, name, key, "*", value)
        if changed:
            self._changed(entries, channel, key, user)
            if channel is not None:
                self._save_channel(channel, key)
            else:
                self._save_user(entries, key)

    def _changed(self, entries: Entries, channel: Channel | None, key: str,
                 actor: User) -> None:
        if channel is not None:
            self._notify_channel(channel, key, actor)
        else:
            self._notify_user(entries, key, actor)

    def _subscriptions(self, server: Server, user: User, target: str, sub: str,
                       args: list[str]) -> None:
        if target != "*" and casefold(target) != user.key:
            server.fail(user, VERB, "INVALID_TARGET", target,
                        "Subscriptions are your own: use * as the target")
            return
        session = self.session(user)
        if sub == "SUBS":
            keys = sorted(session.subs)
            self._send_batch(user, "metadata-subs", [], [
                server.format_numeric(user.nick, RPL_METADATASUBS, chunk)
                for chunk in _chunks(keys)])
            return
        if not args:
            self._bad_params(server, user, sub, "Not enough parameters")
            return
        dialect = dialect_of(user.caps)
        if sub == "UNSUB":
            ok, invalid = rules.unsubscribe(session.subs, args, self.limits)
            for chunk in _chunks(ok):
                server.numeric(user, RPL_METADATAUNSUBOK, *chunk)
            for key in invalid:
                server.reply(user, self._key_problem(user, dialect.invalid_key, key,
                                                     "Invalid key"))
            return
        out = rules.subscribe(session.subs, args, self.limits)
        for chunk in _chunks(out.ok):
            server.numeric(user, RPL_METADATASUBOK, *chunk)
        for key in out.invalid:
            server.reply(user, self._key_problem(user, dialect.invalid_key, key, "Invalid key"))
        if out.limit_key is not None:
            text = f"You may subscribe to {self.limits.max_subs} keys at most"
            if dialect is V2:
                server.fail(user, VERB, dialect.sub_limit, out.limit_key, text)
            else:
                server.fail(user, VERB, dialect.sub_limit, out.limit_key,
                            str(self.limits.max_subs), text)
        if out.new and user.registered:
            lines = self._all_visible(user, set(out.new))
            if lines and len(lines) <= SYNC_LATER_LINES:
                self._send_batch(user, "metadata", ["*ALL"], lines)
            elif lines or dialect.sync_later_after_sub:
                # Too much at once, or (metadata-3) nothing to send: the other answer.
                self._sync_later(server, user, "*ALL")

    def _all_visible(self, user: User, keys: set[str]) -> list[bytes]:
        lines: list[bytes] = []
        seen: set[User] = {user}
        for channel in user.channels.values():
            fresh = [m for m in channel.members if m not in seen]
            seen.update(fresh)
            lines += self._sync_lines(user, channel, fresh, keys)
        watched = [self.core.find_user(nick) for nick in self.core.monitors.targets(user)]
        lines += self._sync_lines(user, None, [w for w in watched
                                               if w is not None and w not in seen], keys)
        return lines

    def _sync(self, server: Server, user: User, target: str) -> None:
        keys = self.session(user).subs
        if target == "*ALL":
            self._send_batch(user, "metadata", ["*ALL"], self._all_visible(user, set(keys)))
            return
        found = self._resolve(server, user, target)
        if found is None:
            server.fail(user, VERB, "INVALID_TARGET", target, "Invalid metadata target")
            return
        name, _, channel, other = found
        if channel is not None:
            access = rules.channel_access(channel.modes, user in channel.members, user.oper)
            if access == "closed":
                lines = [self._key_problem(user, "KEY_NO_PERMISSION", name, "*",
                                           "Permission denied")]
            else:
                lines = self._sync_lines(user, channel, channel.members, keys)
        else:
            assert other is not None
            lines = self._sync_lines(user, None, [other] if other is not user else [], keys)
        self._send_batch(user, "metadata", [name], lines)


def _chunks(keys: list[str]) -> list[list[str]]:
    return [keys[i:i + KEYS_PER_LINE] for i in range(0, len(keys), KEYS_PER_LINE)]


METADATA_HELP = (
    "METADATA <target> <GET|LIST|SET|CLEAR|SUB|UNSUB|SUBS|SYNC> [<key>...] [:<value>]\n"
    "Keys and values on yourself (*) or a channel you operate (IRCv3 metadata):\n"
    "GET and LIST read them, SET <key> [:<value>] sets or removes one, CLEAR\n"
    "removes all; SUB/UNSUB <key>... choose the keys you are told about, SUBS\n"
    "lists them, SYNC sends their current values. Keys are a-z 0-9 _ . / -;\n"
    "yours are kept with your account."
)


def metadata_feature(app: IrcServer, store: StoreClient | None = None) -> Extension:
    owner = Metadata(app, store, Limits.of(app.core.limits))
    accounts = app.extension("accounts")
    if accounts is not None and accounts.owner is not None:
        accounts.owner.login_listeners.append(owner.on_login)
        accounts.owner.logout_listeners.append(owner.on_logout)
    return Extension(
        name="metadata",
        commands=(Command(VERB, owner.command, before_registration=True,
                          help=METADATA_HELP),),
        capabilities={cap: owner.limits.cap_value() for cap in CAPS},
        event_listeners=(owner.on_event,),
        join_listeners=(owner.after_join,),
        welcome_listeners=(owner.on_welcome,),
        whois_listeners=(owner.in_whois,),
        cap_dropped_listeners=(owner.on_cap_dropped,),
        reload_listeners=(owner.reloaded,),
        services=(owner.serve,),
        shutdown_steps=(owner.drain,),
        owner=owner,
    )
