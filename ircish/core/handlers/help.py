"""HELP and HELPOP (Modern IRC): a topic for every verb in the table and every
bot command a plugin registered, as RPL_HELPSTART, RPL_HELPTXT... RPL_ENDOFHELP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.bots import split_text
from ircish.core.help_topics import CORE_TOPICS
from ircish.core.monitor import nick_lines

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message


def command_help(server: Server, verb: str) -> str | None:
    """The help text of ``verb`` in the table: its own, else the core's."""
    cmd = server.commands.get(verb.upper())
    if cmd is None:
        return None
    return cmd.help or CORE_TOPICS.get(cmd.verb)


def bot_topics(server: Server) -> dict[str, str]:
    """Bot commands by their full name (``!seen``), from every extension that has some."""
    found: dict[str, str] = {}
    for source in server.help_sources:
        found.update(source())
    return found


def find_topic(server: Server, subject: str) -> tuple[str, str] | None:
    """``(name, text)`` for ``subject``: a verb, a bot command, or a bot command's
    name without its prefix when only one bot command has it."""
    text = command_help(server, subject)
    if text is not None:
        return subject.upper(), text
    bots = bot_topics(server)
    wanted = subject.lower()
    for name, text in bots.items():
        if name.lower() == wanted:
            return name, text
    bare = [(name, text) for name, text in bots.items()
            if name.lstrip("!.@~$%&*+-=?/\\,;:").lower() == wanted]
    if len(bare) == 1:
        return bare[0]
    return None


def help_(server: Server, user: User, msg: Message) -> None:
    subject = msg.param(0).strip()
    if not subject:
        _send(server, user, "*", f"{server.name} help", _index(server))
        return
    found = find_topic(server, subject)
    if found is None:
        # The subject is echoed unless it could not be one parameter (Modern: then *).
        echo = subject if " " not in subject and not subject.startswith(":") else "*"
        server.numeric(user, N.ERR_HELPNOTFOUND, echo, "No help available on this topic")
        return
    name, text = found
    lines = text.splitlines()
    cmd = server.commands.get(name)
    if cmd is not None and cmd.oper_only:
        lines.append("Only IRC operators may use it.")
    _send(server, user, name, f"** {name} **", lines)


def _index(server: Server) -> list[str]:
    lines = ["HELP <topic> gives help on any of these commands:"]
    lines += [line.replace(",", " ") for line in nick_lines(sorted(server.commands), 300)]
    bots = sorted(bot_topics(server))
    if bots:
        lines += ["", "Bot commands (say them in a channel the bot is in, or to the bot):"]
        lines += [line.replace(",", " ") for line in nick_lines(bots, 300)]
    return lines


def _send(server: Server, user: User, subject: str, title: str, lines: list[str]) -> None:
    server.numeric(user, N.RPL_HELPSTART, subject, title)
    server.numeric(user, N.RPL_HELPTXT, subject, "")
    for line in lines:
        # A plugin's text may be long: every line must fit one reply.
        for part in split_text(line, 380) or [""]:
            server.numeric(user, N.RPL_HELPTXT, subject, part)
    server.numeric(user, N.RPL_ENDOFHELP, subject, "End of /HELP")
