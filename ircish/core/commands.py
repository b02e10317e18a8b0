"""The one command table: each verb with its handler and the rules around it.

A handler adapts one parsed line to the rules and the replies; find any verb's
handler here, one hop away. Most live in ``ircish.core.handlers``; PRIVMSG,
NOTICE and TAGMSG point straight at the message path (``ircish.core.delivery``),
whose rules need no adapter of their own, so the hottest verb crosses one file
fewer. This is the only module that imports the handlers (tests/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ircish.core import delivery
from ircish.core.handlers import (
    channels,
    help,
    modes,
    monitor,
    oper,
    queries,
    registration,
    setname,
)

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

Handler = Callable[["Server", "User", "Message"], None]


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    handler: Handler
    min_params: int = 0
    before_registration: bool = False
    oper_only: bool = False
    # Lines that only answer the sender (PING, PONG) don't reset the idle time.
    counts_as_activity: bool = True
    # HELP's text for the verb; the core's own are in ircish.core.help_topics.
    help: str = ""


def core_commands() -> dict[str, Command]:
    """Every verb the core answers, with its handler: the table a Server starts from.

    Extensions add theirs when they are installed (``Server.install``).
    """
    table = (
        # registration
        Command("CAP", registration.cap, min_params=1, before_registration=True,
                counts_as_activity=False),
        Command("PASS", registration.pass_, min_params=1, before_registration=True),
        Command("NICK", registration.nick, before_registration=True),
        Command("USER", registration.user_, min_params=4, before_registration=True),
        Command("PING", registration.ping, before_registration=True, counts_as_activity=False),
        Command("PONG", registration.pong, before_registration=True, counts_as_activity=False),
        Command("QUIT", registration.quit_, before_registration=True),
        # channels
        Command("JOIN", channels.join, min_params=1),
        Command("PART", channels.part, min_params=1),
        Command("TOPIC", channels.topic, min_params=1),
        Command("NAMES", channels.names),
        Command("LIST", channels.list_),
        Command("KICK", channels.kick, min_params=2),
        Command("INVITE", channels.invite, min_params=2),
        # messages: the message path itself (ircish.core.delivery)
        Command("PRIVMSG", delivery.privmsg),
        Command("NOTICE", delivery.notice),
        Command("TAGMSG", delivery.tagmsg, min_params=1),
        # modes
        Command("MODE", modes.mode, min_params=1),
        # queries
        Command("WHO", queries.who),
        Command("WHOIS", queries.whois, min_params=1),
        Command("WHOWAS", queries.whowas, min_params=1),
        Command("ISON", queries.ison, min_params=1),
        Command("USERHOST", queries.userhost, min_params=1),
        Command("AWAY", queries.away),
        Command("MOTD", queries.motd),
        Command("LUSERS", queries.lusers),
        Command("VERSION", queries.version),
        Command("TIME", queries.time_),
        Command("INFO", queries.info),
        Command("LINKS", queries.links),
        Command("ADMIN", queries.admin),
        Command("MONITOR", monitor.monitor, min_params=1),
        Command("SETNAME", setname.setname, min_params=1),
        Command("HELP", help.help_),
        Command("HELPOP", help.help_),
        # oper
        Command("OPER", oper.oper, min_params=2),
        Command("KILL", oper.kill, min_params=2, oper_only=True),
        Command("WALLOPS", oper.wallops, min_params=1, oper_only=True),
        Command("REHASH", oper.rehash, oper_only=True),
    )
    return {cmd.verb: cmd for cmd in table}
