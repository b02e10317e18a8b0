"""Bot users: registered users with no connection behind them.

Plugins talk through bots. A bot is an ordinary ``User`` (so NAMES, WHO, WHOIS,
MODE and history treat it like anyone else) whose bytes go nowhere, marked with
the ``bot`` flag and user mode ``+B``. Everything a bot does goes through the
same rules a client's line would (``ircish.core.membership``, ``nicks``,
``delivery``), so channel modes, bans, filters, history and hooks apply to bots too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircish.core import monitor
from ircish.core.delivery import deliver
from ircish.core.membership import join_one, leave
from ircish.core.nicks import valid_nick
from ircish.core.state import BOT_MODE
from ircish.protocol import Message

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

log = logging.getLogger("ircish.bots")

# Bots' messages are cut to this many bytes per line so a relayed line, with its
# source and target prefixed, stays under the 512-byte IRC line limit.
MAX_TEXT_BYTES = 400


class BotError(Exception):
    """A bot could not be created (bad or taken nick)."""


class BotSink:
    """What a bot is sent: nothing reads it, except the server's refusals.

    A plugin author whose bot speaks into a +n channel it has not joined would
    otherwise see nothing happen; error numerics (4xx, 5xx) are logged instead.
    Everything else (the channel traffic) costs one ``startswith``.
    """

    __slots__ = ("_prefix", "user")

    def __init__(self, server_name: str) -> None:
        self._prefix = f":{server_name} ".encode()
        self.user: User | None = None

    def send(self, data: bytes) -> None:
        if data.startswith(self._prefix):
            code = data[len(self._prefix):len(self._prefix) + 4]
            if code[:1] in (b"4", b"5") and code[1:3].isdigit() and code[3:4] == b" ":
                nick = self.user.nick if self.user is not None else "?"
                line = data.decode("utf-8", "replace").rstrip("\r\n")
                log.warning("bot %s was refused: %s", nick, line)

    def close(self, error: str) -> None:
        pass


def create_bot(server: Server, nick: str, username: str = "bot", realname: str = "") -> User:
    """Register a bot user under ``nick``; BotError if the nick is invalid or taken."""
    if not valid_nick(nick, server.limits.nick_length):
        raise BotError(f"invalid bot nick {nick!r}")
    holder = server.find_user(nick)
    if holder is not None:
        raise BotError(f"nick {nick!r} is already in use")
    sink = BotSink(server.name)
    # An address that cannot belong to a client: bots are local to this server.
    user = server.connect(sink, "0.0.0.0", server.name)
    sink.user = user
    user.password_ok = True
    user.bot = True
    server.set_user_mode(user, BOT_MODE, True)
    user.username = username
    user.realname = realname or f"{nick} (bot)"
    user.set_nick(nick)
    user.registered = True
    server.users[user.key] = user
    monitor.online(server, user)
    return user


def bot_join(server: Server, bot: User, channel: str, key: str = "") -> bool:
    """Join like a client would; True if the bot is on the channel afterwards."""
    join_one(server, bot, channel, key)
    found = server.find_channel(channel)
    return found is not None and found.key in bot.channels


def bot_part(server: Server, bot: User, channel: str, reason: str = "") -> bool:
    found = server.find_channel(channel)
    if found is None or found.key not in bot.channels:
        return False
    params = [found.name, reason] if reason else [found.name]
    leave(server, bot, found, "part", reason, bot.source, "PART", params)
    return True


def bot_send(server: Server, bot: User, verb: str, target: str, text: str) -> None:
    """PRIVMSG or NOTICE from the bot; long or multi-line text becomes several lines."""
    for line in split_text(text):
        deliver(server, bot, Message(verb, [target, line]), verb)


def bot_quit(server: Server, bot: User, reason: str) -> None:
    server.disconnect(bot, reason)


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Lines of at most ``limit`` UTF-8 bytes, split at newlines, then at spaces."""
    out: list[str] = []
    for raw in text.splitlines() or [""]:
        line = raw.rstrip("\r")
        while len(line.encode()) > limit:
            cut = _cut_point(line, limit)
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        if line:
            out.append(line)
    return out


def _cut_point(line: str, limit: int) -> int:
    # The longest prefix within the byte budget, preferably ending at a space.
    chars = len(line.encode()[:limit].decode("utf-8", "ignore"))
    space = line.rfind(" ", 0, chars)
    return space if space > chars // 2 else chars
