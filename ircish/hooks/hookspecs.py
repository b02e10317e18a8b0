"""The hooks a plugin can implement, one empty function each.

Every hook receives its context as named arguments and a plugin's function
takes only the ones it needs (``def on_join(api, nick, channel)`` is fine).
``api`` is always available: the plugin's own ``PluginAPI``. Event hooks may be
``async def`` (run in their own task) or plain ``def`` (run in a worker thread,
their API calls carried back to the loop); either way off the message path,
under ``[plugins] hook_timeout``. ``filter_message`` alone runs on the message
path, under ``[plugins] filter_budget_ms``. ``docs/plugins.md`` has a section per hook and
a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ircish.core.filters import Reject
    from ircish.hooks.api import PluginAPI, UserView
    from ircish.hooks.commands import BotCommand, ServerCommand

PROJECT = "ircish"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def on_server_start(api: PluginAPI) -> None:
    """The server is starting, before it accepts clients: create bots, join channels."""


@hookspec
def on_server_stop(api: PluginAPI) -> None:
    """The server is shutting down, after clients were told goodbye."""


@hookspec
def on_welcome(
    api: PluginAPI, nick: str, source: str, account: str | None, first_client: bool, time: datetime
) -> None:
    """A client finished registration; ``first_client`` for the first since the start."""


@hookspec
def on_join(
    api: PluginAPI, nick: str, source: str, account: str | None, channel: str, msgid: str,
    time: datetime, from_bot: bool,
) -> None:
    """Someone (a client or a bot, see ``from_bot``) joined a channel."""


@hookspec
def on_leave(
    api: PluginAPI, nick: str, source: str, channel: str, kind: str, reason: str, by: str | None,
    msgid: str, time: datetime, from_bot: bool,
) -> None:
    """Someone left a channel; ``kind`` is "part", "kick" (``by`` kicked them) or "quit"."""


@hookspec
def on_message(
    api: PluginAPI, nick: str, source: str, account: str | None, command: str, target: str,
    is_channel: bool, text: str, msgid: str, tags: dict[str, str], time: datetime,
    from_bot: bool,
) -> None:
    """A PRIVMSG, NOTICE or TAGMSG was delivered to a channel or a user.

    A ``draft/multiline`` message comes once, with its lines in ``text`` joined by
    ``\\n`` (those sent with ``draft/multiline-concat`` joined with nothing)."""


@hookspec
def on_nick(
    api: PluginAPI, old: str, new: str, source: str, channels: tuple[str, ...], msgid: str,
    time: datetime,
) -> None:
    """Someone changed nick from ``old`` to ``new``; ``channels`` are the ones they are in."""


@hookspec
def on_topic(
    api: PluginAPI, nick: str, source: str, channel: str, topic: str, msgid: str, time: datetime
) -> None:
    """A channel's topic was set (``topic`` is "" when it was cleared)."""


@hookspec
def on_rename(
    api: PluginAPI, nick: str, source: str, old: str, new: str, reason: str, msgid: str,
    time: datetime,
) -> None:
    """``nick`` renamed channel ``old`` to ``new`` (draft/channel-rename); its members
    stay, and its history is found under ``new`` from now on."""


@hookspec
def on_login(
    api: PluginAPI, nick: str, source: str, account: str, previous: str | None, via: str,
    time: datetime,
) -> None:
    """Someone logged in to ``account``: SASL, NickServ IDENTIFY or REGISTER, or REGISTER."""


@hookspec
def on_logout(api: PluginAPI, nick: str, source: str, account: str, via: str, time: datetime
              ) -> None:
    """Someone logged out of ``account`` (NickServ LOGOUT, or the account was dropped)."""


@hookspec(firstresult=True)
def filter_message(
    api: PluginAPI, sender: UserView, command: str, target: str, is_channel: bool, text: str
) -> str | Reject | None:
    """Before delivery: return None to pass, a new text to rewrite, or ``Reject(reason)``."""


@hookspec
def register_commands(api: PluginAPI) -> Iterable[ServerCommand | BotCommand]:
    """At load: return ``ServerCommand`` and ``BotCommand`` objects this plugin adds."""
