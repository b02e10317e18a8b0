"""Plugins for ircish: what a plugin module imports.

    from ircish.hooks import hookimpl

    @hookimpl
    def on_welcome(api, nick):
        api.bot("Greeter").notice(nick, f"Hello {nick}!")

See docs/plugins.md for the tutorial and every hook's arguments.
"""

from ircish.core.bots import BotError
from ircish.core.filters import Reject
from ircish.hooks.api import Bot, ChannelView, PluginAPI, UserView
from ircish.hooks.commands import BotCommand, ServerCommand
from ircish.hooks.history import HistoryLine, HistoryUnavailable, Seen
from ircish.hooks.hookspecs import hookimpl

__all__ = [
    "Bot",
    "BotCommand",
    "BotError",
    "ChannelView",
    "HistoryLine",
    "HistoryUnavailable",
    "PluginAPI",
    "Reject",
    "Seen",
    "ServerCommand",
    "UserView",
    "hookimpl",
]
