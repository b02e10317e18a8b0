"""What a plugin gets: ``PluginAPI``, its bots, and read-only views of users and channels.

A plugin never sees the core's ``Server``, ``User`` or ``Channel``: it gets
views that read the live state and cannot change it, and it acts only through
bots, which go through the same rules as any client. That keeps the core free
to change without breaking plugins, and keeps one buggy plugin from corrupting
the server's state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ircish.core import bots
from ircish.core.state import Channel, User
from ircish.hooks.history import PluginHistory
from ircish.hooks.threads import loop_property, on_loop

if TYPE_CHECKING:
    import trio

    from ircish.hooks.runner import HookRunner


class UserView:
    """A connected user, read-only; attributes read the live state."""

    __slots__ = ("_user",)

    def __init__(self, user: User) -> None:
        self._user = user

    nick = loop_property(lambda self: self._user.nick, "Current nick.")
    username = loop_property(lambda self: self._user.username)
    host = loop_property(lambda self: self._user.host)
    realname = loop_property(lambda self: self._user.realname)
    source = loop_property(lambda self: self._user.source, "nick!user@host")
    account = loop_property(lambda self: self._user.account)
    away = loop_property(lambda self: self._user.away, "The away message, or None.")
    is_bot = loop_property(lambda self: self._user.bot)
    is_oper = loop_property(lambda self: self._user.oper)
    connected_at = loop_property(lambda self: self._user.connected_at, "Unix time.")

    @loop_property
    def modes(self) -> frozenset[str]:
        return frozenset(self._user.modes)

    @loop_property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._user.channels.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UserView) and other._user is self._user

    def __hash__(self) -> int:
        return id(self._user)

    def __repr__(self) -> str:
        return f"<UserView {self._user.source}>"


class ChannelView:
    """A channel, read-only; attributes read the live state."""

    __slots__ = ("_channel",)

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    name = loop_property(lambda self: self._channel.name)
    topic = loop_property(lambda self: self._channel.topic)
    topic_setter = loop_property(lambda self: self._channel.topic_setter)
    created = loop_property(lambda self: self._channel.created, "Unix time.")

    @loop_property
    def modes(self) -> str:
        return self._channel.mode_string(show_password=False)[0]

    @loop_property
    def members(self) -> tuple[str, ...]:
        return tuple(u.nick for u in self._channel.members)

    @loop_property
    def ops(self) -> tuple[str, ...]:
        return tuple(u.nick for u, held in self._channel.members.items() if "o" in held)

    @on_loop
    def has(self, nick: str) -> bool:
        from ircish.protocol.casemap import casefold

        key = casefold(nick)
        return any(u.key == key for u in self._channel.members)

    def __repr__(self) -> str:
        return f"<ChannelView {self._channel.name}>"


class Bot:
    """A bot user a plugin speaks through (user mode +B, shown in NAMES and WHOIS)."""

    __slots__ = ("_runner", "_user")

    def __init__(self, runner: HookRunner, user: User) -> None:
        self._runner = runner
        self._user = user

    @loop_property
    def nick(self) -> str:
        return self._user.nick

    @loop_property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._user.channels.values())

    @loop_property
    def online(self) -> bool:
        return self._runner.core.users.get(self._user.key) is self._user

    @on_loop
    def say(self, target: str, text: str) -> None:
        """PRIVMSG to a channel or a nick; long or multi-line text is split."""
        self._send("PRIVMSG", target, text)

    @on_loop
    def notice(self, target: str, text: str) -> None:
        self._send("NOTICE", target, text)

    def _send(self, verb: str, target: str, text: str) -> None:
        if self.online:
            bots.bot_send(self._runner.core, self._user, verb, target, text)

    @on_loop
    def join(self, channel: str, key: str = "") -> bool:
        """Join ``channel`` (created if needed); True if the bot is on it afterwards."""
        return self.online and bots.bot_join(self._runner.core, self._user, channel, key)

    @on_loop
    def part(self, channel: str, reason: str = "") -> bool:
        return self.online and bots.bot_part(self._runner.core, self._user, channel, reason)

    def __repr__(self) -> str:
        return f"<Bot {self._user.nick}>"


class PluginAPI:
    """The one object a plugin talks to the server through (the ``api`` argument)."""

    def __init__(self, runner: HookRunner, name: str, settings: Mapping[str, Any]) -> None:
        self._runner = runner
        self.name = name
        self.config: Mapping[str, Any] = MappingProxyType(dict(settings))
        """This plugin's ``[plugins.<name>]`` table (empty if there is none)."""
        self.log = logging.getLogger(f"ircish.plugins.{name}")
        self.history = PluginHistory(runner.memory, runner.core, runner.history_reader, name,
                                     runner.store_health, runner.history_timeout)
        """Recent channel history: ``await api.history.latest(channel)`` and friends."""

    @property
    def network(self) -> str:
        return self._runner.app.config.server.network

    @property
    def server_name(self) -> str:
        return self._runner.core.name

    # ---- files ----------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """A folder of this plugin's own: ``plugin-data/<name>`` next to config.toml,
        made on first use (so a plugin never writes into the server's working folder)."""
        folder = self._runner.app.config.base_dir / "plugin-data" / self.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def path(self, value: str | PathLike[str]) -> Path:
        """A path from this plugin's settings: a relative one is next to config.toml,
        as every relative path in the config is."""
        return self._runner.app.config.resolve(str(Path(value).expanduser()))

    # ---- bots -----------------------------------------------------------------------

    @on_loop
    def bot(self, nick: str, realname: str = "") -> Bot:
        """The bot ``nick``, created on first use; BotError if a client holds the nick."""
        return self._runner.bot_for(self.name, nick, realname)

    # ---- lookups --------------------------------------------------------------------

    @on_loop
    def user(self, nick: str) -> UserView | None:
        user = self._runner.core.find_user(nick)
        return UserView(user) if user is not None and user.registered else None

    @on_loop
    def channel(self, name: str) -> ChannelView | None:
        channel = self._runner.core.find_channel(name)
        return ChannelView(channel) if channel is not None else None

    @on_loop
    def users(self) -> Iterator[UserView]:
        # Built here, on the loop: iterating later (maybe in a thread) reads nothing live.
        return iter([UserView(u) for u in self._runner.core.users.values() if u.registered])

    @on_loop
    def channels(self) -> Iterator[ChannelView]:
        return iter([ChannelView(c) for c in self._runner.core.channels.values()])

    def for_nick(self, nick: str) -> AbstractContextManager[trio.CancelScope]:
        """``with api.for_nick(nick): ...`` in an async hook: the work inside (store
        reads, a greeting) is cancelled when ``nick`` quits or changes nick, and
        skipped when nobody holds the nick by the time the hook runs. Leaving the
        block early this way is no failure of the plugin."""
        return self._runner.nick_scope(nick)

    # ---- background work --------------------------------------------------------------

    @on_loop
    def start_soon(
        self, fn: Callable[..., Awaitable[Any]], *args: Any, timeout: float | None = None
    ) -> None:
        """Run ``await fn(*args)`` in the server's nursery.

        An exception counts as a failure of this plugin, like a failing hook.
        There is no time limit unless ``timeout`` is given; the task is cancelled
        at shutdown or when the plugin is disabled.
        """
        self._runner.start_soon(self.name, fn, args, timeout)

    def __repr__(self) -> str:
        return f"<PluginAPI {self.name}>"
