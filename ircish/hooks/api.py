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
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ircish.core import bots
from ircish.core.state import Channel, User
from ircish.hooks.history import PluginHistory

if TYPE_CHECKING:
    from ircish.hooks.runner import HookRunner


class UserView:
    """A connected user, read-only; attributes read the live state."""

    __slots__ = ("_user",)

    def __init__(self, user: User) -> None:
        self._user = user

    nick = property(lambda self: self._user.nick, doc="Current nick.")
    username = property(lambda self: self._user.username)
    host = property(lambda self: self._user.host)
    realname = property(lambda self: self._user.realname)
    source = property(lambda self: self._user.source, doc="nick!user@host")
    account = property(lambda self: self._user.account)
    away = property(lambda self: self._user.away, doc="The away message, or None.")
    is_bot = property(lambda self: self._user.bot)
    is_oper = property(lambda self: self._user.oper)
    connected_at = property(lambda self: self._user.connected_at, doc="Unix time.")

    @property
    def modes(self) -> frozenset[str]:
        return frozenset(self._user.modes)

    @property
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

    name = property(lambda self: self._channel.name)
    topic = property(lambda self: self._channel.topic)
    topic_setter = property(lambda self: self._channel.topic_setter)
    created = property(lambda self: self._channel.created, doc="Unix time.")

    @property
    def modes(self) -> str:
        return self._channel.mode_string(show_password=False)[0]

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(u.nick for u in self._channel.members)

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(u.nick for u, held in self._channel.members.items() if "o" in held)

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

    @property
    def nick(self) -> str:
        return self._user.nick

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._user.channels.values())

    @property
    def online(self) -> bool:
        return self._runner.core.users.get(self._user.key) is self._user

    def say(self, target: str, text: str) -> None:
        """PRIVMSG to a channel or a nick; long or multi-line text is split."""
        self._send("PRIVMSG", target, text)

    def notice(self, target: str, text: str) -> None:
        self._send("NOTICE", target, text)

    def _send(self, verb: str, target: str, text: str) -> None:
        if self.online:
            bots.bot_send(self._runner.core, self._user, verb, target, text)

    def join(self, channel: str, key: str = "") -> bool:
        """Join ``channel`` (created if needed); True if the bot is on it afterwards."""
        return self.online and bots.bot_join(self._runner.core, self._user, channel, key)

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
        self.history = PluginHistory(runner.memory, runner.app)
        """Recent channel history: ``await api.history.latest(channel)`` and friends."""

    @property
    def network(self) -> str:
        return self._runner.app.config.server.network

    @property
    def server_name(self) -> str:
        return self._runner.core.name

    # ---- bots -----------------------------------------------------------------------

    def bot(self, nick: str, realname: str = "") -> Bot:
        """The bot ``nick``, created on first use; BotError if a client holds the nick."""
        return self._runner.bot_for(self.name, nick, realname)

    # ---- lookups --------------------------------------------------------------------

    def user(self, nick: str) -> UserView | None:
        user = self._runner.core.find_user(nick)
        return UserView(user) if user is not None and user.registered else None

    def channel(self, name: str) -> ChannelView | None:
        channel = self._runner.core.find_channel(name)
        return ChannelView(channel) if channel is not None else None

    def users(self) -> Iterator[UserView]:
        return (UserView(u) for u in list(self._runner.core.users.values()) if u.registered)

    def channels(self) -> Iterator[ChannelView]:
        return (ChannelView(c) for c in list(self._runner.core.channels.values()))

    # ---- background work --------------------------------------------------------------

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
