"""Plugin commands at run time: server verbs in the core's table, and ``!word``
bot commands picked out of channel and private messages.

A server command's handler is called synchronously from the core (like any
command), an async one continues in its own task; a bot command is found by the
dispatcher, off the message path. Both charge failures to their plugin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ircish.core import bots, events
from ircish.core import numerics as N
from ircish.core.commands import Command
from ircish.core.server import Server
from ircish.core.state import User
from ircish.hooks.api import Bot, UserView
from ircish.hooks.commands import (
    BotCommand,
    ServerCommand,
    call_with_supported_arguments,
    supported_arguments,
)
from ircish.protocol import Message
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.hooks.runner import HookRunner, LoadedPlugin

_Entry = tuple["LoadedPlugin", BotCommand, "frozenset[str] | None"]


class CommandRouter:
    def __init__(self, runner: HookRunner) -> None:
        self.runner = runner
        self.bot_commands: dict[tuple[str, str], _Entry] = {}
        # Plugins' server verbs, handed to the core as part of the plugins extension.
        self.server_commands: dict[str, Command] = {}
        self._prefixes: frozenset[str] = frozenset()

    def add(self, plugin: LoadedPlugin, commands: Iterable[Any]) -> list[str]:
        """Install what ``register_commands`` returned; problems come back as messages."""
        core = self.runner.core
        problems: list[str] = []
        for cmd in commands or ():
            if isinstance(cmd, ServerCommand):
                verb = cmd.verb.upper()
                if not verb.isalpha():
                    problems.append(f"server command {cmd.verb!r} is not a word")
                elif verb in core.commands or verb in self.server_commands:
                    problems.append(f"server command {verb} already exists")
                else:
                    self.server_commands[verb] = Command(
                        verb, self._server_handler(plugin, cmd), cmd.min_params,
                        oper_only=cmd.oper_only,
                        help=cmd.help or f"{verb}: a command of the plugin {plugin.name}.")
                    plugin.verbs.append(verb)
            elif isinstance(cmd, BotCommand):
                key = (cmd.prefix, cmd.name.lower())
                if not cmd.prefix or not cmd.name or " " in cmd.name:
                    problems.append(f"bot command {cmd.prefix}{cmd.name} is malformed")
                elif key in self.bot_commands:
                    problems.append(f"bot command {cmd.prefix}{cmd.name} already exists")
                else:
                    self.bot_commands[key] = (plugin, cmd, supported_arguments(cmd.handler))
                    self.runner.bot_for(plugin.name, cmd.bot, "")
            else:
                problems.append(f"register_commands returned {cmd!r}, not a ServerCommand "
                                "or BotCommand")
        self._prefixes = frozenset(prefix for prefix, _ in self.bot_commands)
        return problems

    def remove(self, plugin: LoadedPlugin) -> None:
        for verb in plugin.verbs:
            self.runner.core.commands.pop(verb, None)
        for key in [k for k, (owner, _, _) in self.bot_commands.items() if owner is plugin]:
            del self.bot_commands[key]
        self._prefixes = frozenset(prefix for prefix, _ in self.bot_commands)

    def help_topics(self) -> dict[str, str]:
        """HELP's topics for the bot commands, by their full name (``!seen``)."""
        return {
            f"{cmd.prefix}{cmd.name}": cmd.help or (
                f"{cmd.prefix}{cmd.name}: a command of the plugin {plugin.name}, "
                f"answered by {cmd.bot}.")
            for plugin, cmd, _ in self.bot_commands.values()
            if plugin.enabled
        }

    def _server_handler(
        self, plugin: LoadedPlugin, cmd: ServerCommand
    ) -> Callable[[Server, User, Message], None]:
        accepted = supported_arguments(cmd.handler)
        what = f"command {cmd.verb.upper()}"
        runner = self.runner

        def handle(server: Server, user: User, msg: Message) -> None:
            def reply(text: str) -> None:
                for line in bots.split_text(text):
                    server.send_from_server(user, "NOTICE", user.nick, line)

            available = {"api": plugin.api, "nick": user.nick, "user": UserView(user),
                         "params": list(msg.params), "reply": reply}
            try:
                result = call_with_supported_arguments(cmd.handler, accepted, available)
            except Exception:
                runner.failed(plugin, what, "raised an exception", exc_info=True)
                server.numeric(user, N.ERR_UNKNOWNERROR, msg.command.upper(),
                               f"Internal error in plugin {plugin.name}")
                return
            if inspect.isawaitable(result):
                runner.start_awaitable(plugin, what, result, user)

        return handle

    async def on_message(self, event: events.MessageEvent) -> None:
        """Called by the dispatcher for every message while bot commands exist."""
        bot_users = self.runner.bot_users
        if event.command != "PRIVMSG" or casefold(event.nick) in bot_users:
            return  # bots never trigger commands: no loops between bots
        found = self._lookup(event)
        if found is None:
            self._bot_help(event)
            return
        (plugin, cmd, accepted), rest = found
        bot = bot_users.get(casefold(cmd.bot))
        if bot is None or not plugin.enabled:
            return
        if event.is_channel:
            channel = self.runner.core.find_channel(event.target)
            if channel is None or bot not in channel.members:
                return  # a bot answers only where it is
            reply_to = event.target
        elif bot_users.get(casefold(event.target)) is not bot:
            return
        else:
            reply_to = event.nick
        handle = Bot(self.runner, bot)
        available = {
            "api": plugin.api, "nick": event.nick,
            "channel": event.target if event.is_channel else None, "target": reply_to,
            "args": rest.split(), "text": rest,
            "reply": lambda text: handle.say(reply_to, text),
        }
        what = f"bot command {cmd.prefix}{cmd.name}"
        if not inspect.iscoroutinefunction(cmd.handler):
            # A plain def may block: it runs in one of the plugin's threads.
            chosen = available if accepted is None else {
                k: v for k, v in available.items() if k in accepted}
            await self.runner.spawn_sync(plugin, what, cmd.handler, chosen)
            return
        try:
            result = call_with_supported_arguments(cmd.handler, accepted, available)
        except Exception:
            self.runner.failed(plugin, what, "raised an exception", exc_info=True)
            return
        if inspect.isawaitable(result):
            await self.runner.spawn(plugin, what, result, self.runner.timeout)

    def _bot_help(self, event: events.MessageEvent) -> None:
        """``!help [command]`` (``help`` in private): each bot there that has commands
        answers with their names, or the one that has ``command`` with its help
        text, in a NOTICE to whoever asked (a channel needs no list per asker)."""
        private = not event.is_channel
        word, _, rest = event.text.partition(" ")
        if word.lower() != "!help" and not (private and word.lower() == "help"):
            return
        asked = rest.strip().split(" ", 1)[0].lower()
        bot_users = self.runner.bot_users
        if private:
            bot = bot_users.get(casefold(event.target))
            here = [bot] if bot is not None else []
        else:
            channel = self.runner.core.find_channel(event.target)
            here = ([u for u in channel.members if u.key in bot_users]
                    if channel is not None else [])
        for bot in here:
            mine = sorted(
                ((plugin, cmd) for plugin, cmd, _ in self.bot_commands.values()
                 if plugin.enabled and casefold(cmd.bot) == bot.key),
                key=lambda entry: entry[1].name.lower())
            if not mine:
                continue
            handle = Bot(self.runner, bot)
            if not asked:
                names = ", ".join(f"{cmd.prefix}{cmd.name}" for _, cmd in mine)
                handle.notice(event.nick, f"My commands: {names}. Say !help <command> "
                                          "for one of them.")
                continue
            for plugin, cmd in mine:
                if cmd.name.lower() == asked.removeprefix(cmd.prefix):
                    handle.notice(event.nick, cmd.help or (
                        f"{cmd.prefix}{cmd.name}: a command of the plugin {plugin.name}."))

    def _lookup(self, event: events.MessageEvent) -> tuple[_Entry, str] | None:
        text = event.text
        for prefix in self._prefixes:
            if text.startswith(prefix):
                word, _, rest = text[len(prefix):].partition(" ")
                found = self.bot_commands.get((prefix, word.lower()))
                if found is not None:
                    return found, rest.strip()
        if event.is_channel or casefold(event.target) not in self.runner.bot_users:
            return None
        # In a private message to a bot the prefix may be left out.
        word, _, rest = text.partition(" ")
        for (_, name), entry in self.bot_commands.items():
            if name == word.lower():
                return entry, rest.strip()
        return None

