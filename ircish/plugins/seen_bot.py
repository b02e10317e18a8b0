"""``!seen nick`` in a channel (or ``/SEEN nick``): when and where someone was last seen.

A name that is no nick seen lately is looked up as an account: the last sighting
of whoever was logged in to it, on any nick.

Answers come from the history store when the server has one, so they survive a
restart; otherwise from what the server saw since it started. The query is
async (the store reads in a worker thread), which is why the handlers are
``async def``.

    [plugins.seen_bot]
    nick = "SeenBot"
    channels = ["#lobby"]
"""

from __future__ import annotations

from datetime import UTC, datetime

from ircish.hooks import BotCommand, PluginAPI, Seen, ServerCommand, hookimpl

__version__ = "1.0"

_DOING = {
    "PRIVMSG": "saying",
    "NOTICE": "noticing",
    "JOIN": "joining",
    "PART": "leaving",
    "KICK": "being kicked from",
    "QUIT": "quitting",
    "NICK": "changing nick",
    "CONNECT": "connecting",
}


def _nick(api: PluginAPI) -> str:
    return str(api.config.get("nick", "SeenBot"))


def ago(when: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(seconds, 0)}s ago"


def describe(seen: Seen) -> str:
    doing = _DOING.get(seen.kind, seen.kind.lower())
    where = f" {seen.channel}" if seen.channel else ""
    said = f": {seen.text}" if seen.text and seen.kind in ("PRIVMSG", "NOTICE") else ""
    if seen.kind == "NICK":
        said = f" to {seen.text}"
    return f"{seen.nick} was last seen {ago(seen.time)}, {doing}{where}{said}"


async def answer(api: PluginAPI, asker: str, who: str) -> str:
    if not who:
        return "Usage: seen <nick>"
    online = api.user(who)
    if online is not None and online.nick.lower() != asker.lower():
        return f"{online.nick} is online right now."
    if who.lower() == asker.lower():
        return "That's you!"
    seen = await api.history.last_seen(who)
    if seen is not None:
        return describe(seen)
    # Not a nick seen lately: maybe an account, whoever was logged in to it.
    seen = await api.history.last_seen_account(who)
    if seen is not None:
        return f"{describe(seen)} (logged in as {who})"
    return f"I have not seen {who}."


async def seen_command(api: PluginAPI, nick: str, args: list[str], reply: object) -> None:
    reply(await answer(api, nick, args[0] if args else ""))  # type: ignore[operator]


async def seen_server_command(api: PluginAPI, nick: str, params: list[str], reply: object
                              ) -> None:
    reply(await answer(api, nick, params[0] if params else ""))  # type: ignore[operator]


@hookimpl
def register_commands(api: PluginAPI) -> list[object]:
    return [
        BotCommand("seen", seen_command, bot=_nick(api), help="!seen <nick>"),
        ServerCommand("SEEN", seen_server_command, min_params=1, help="SEEN <nick>"),
    ]


@hookimpl
def on_server_start(api: PluginAPI) -> None:
    bot = api.bot(_nick(api), realname="Remembers who was here")
    for channel in api.config.get("channels", ()):
        bot.join(channel)
