"""Greets people: a notice when they connect, and one when they join a greeted channel
(or a line in the channel, with ``public_join_greeting = true``).

The first client to connect after the server started gets a special greeting
(unless seen before), and someone seen before gets "welcome back" with how many
messages were said in the greeted channels since their last visit (from the
history store when there is one, else from what the server saw since it
started). Someone logged in to an account is known by it, on whatever nick
they come with; others by nick. Every text is a template in
``[plugins.welcome_bot]``; an empty template turns that greeting off. Its
look-ups are one store read for an unknown nick (or account) and one count per
greeted channel; when the store does not answer in time, people get the plain
greeting.

    [plugins.welcome_bot]
    nick = "WelcomeBot"
    channels = ["#lobby"]
    greeting = "Welcome to {network}, {nick}!"
    public_join_greeting = false   # true: the join greeting is a line in the channel

The bot's lines are bot lines (user mode +B): history marks them, and replay on
join leaves them out, so nobody is greeted with yesterday's greetings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ircish.hooks import HistoryUnavailable, PluginAPI, Seen, hookimpl

__version__ = "1.0"

DEFAULTS: dict[str, Any] = {
    "nick": "WelcomeBot",
    # Channels the bot sits in and greets joiners of.
    "channels": [],
    "greeting": "Welcome to {network}, {nick}!",
    "first_greeting": "Welcome to {network}, {nick}! You are the first to connect since "
                      "the server started.",
    # {count} is the number of messages said in the greeted channels since the last
    # visit; {messages_said} says it in words ("1 message was said", "no messages...").
    "welcome_back": "Welcome back to {network}, {nick}! {messages_said} since your last "
                    "visit.",
    "join_greeting": "Hello {nick}, welcome to {channel}!",
    "join_welcome_back": "Welcome back to {channel}, {nick}! {messages_said} here since "
                         "your last visit.",
    # The join greetings go to the joiner alone, as a NOTICE; true: a line in the channel.
    "public_join_greeting": False,
}
FIELDS = {"nick", "network", "channel", "count", "messages_said"}
BOOLEANS = {"public_join_greeting"}


def messages_said(count: int) -> str:
    if count == 0:
        return "No messages were said"
    return "1 message was said" if count == 1 else f"{count} messages were said"


def settings(api: PluginAPI) -> dict[str, Any]:
    """The plugin's config over its defaults, checked so mistakes show at start."""
    unknown = set(api.config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown key(s) in [plugins.{api.name}]: {', '.join(sorted(unknown))}")
    merged = {**DEFAULTS, **api.config}
    sample = dict.fromkeys(FIELDS, "x")
    for key, value in merged.items():
        if key == "channels":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise ValueError(f"[plugins.{api.name}] channels must be a list of channels")
        elif key in BOOLEANS:
            if not isinstance(value, bool):
                raise ValueError(f"[plugins.{api.name}] {key} must be true or false")
        elif not isinstance(value, str):
            raise ValueError(f"[plugins.{api.name}] {key} must be a string")
        elif key != "nick":
            value.format(**sample)  # a bad {field} fails here, at start
    return merged


@hookimpl
def on_server_start(api: PluginAPI) -> None:
    conf = settings(api)
    bot = api.bot(conf["nick"], realname="Greets newcomers")
    for channel in conf["channels"]:
        bot.join(channel)


async def last_visit(api: PluginAPI, nick: str, account: str | None, before: datetime,
                     channel: str | None = None) -> Seen | None:
    """The visit before ``before``: by account when the user is logged in (so a
    regular on a new nick is no newcomer, and whoever takes a nick after its
    owner is not them), else by nick."""
    if account is not None:
        return await api.history.last_seen_account(account, channel, before=before)
    return await api.history.last_seen(nick, channel, before=before)


@hookimpl
async def on_welcome(api: PluginAPI, nick: str, account: str | None, first_client: bool,
                     time: datetime) -> None:
    with api.for_nick(nick):  # a greeting for someone gone is read by nobody
        await _welcome(api, nick, account, first_client, time)


async def _welcome(api: PluginAPI, nick: str, account: str | None, first_client: bool,
                   time: datetime) -> None:
    conf = settings(api)
    template, count = conf["greeting"], 0
    try:
        # ``before=time``: the visit before this one, not this very connection.
        last = await last_visit(api, nick, account, time) if conf["welcome_back"] else None
        if last is not None:
            # Checked first: after a restart with history kept, the first client
            # may well be a regular, and the server is not "fresh" for them.
            for channel in conf["channels"]:
                count += await api.history.count_since(channel, last.time, time)
            template = conf["welcome_back"]
    except HistoryUnavailable:
        last = None  # the store is slow or down: the plain greeting will do
    if last is None and first_client and conf["first_greeting"]:
        template = conf["first_greeting"]
    if template:
        api.bot(conf["nick"]).notice(nick, template.format(
            nick=nick, network=api.network, channel="", count=count,
            messages_said=messages_said(count)))


@hookimpl
async def on_join(api: PluginAPI, nick: str, account: str | None, channel: str, time: datetime,
                  from_bot: bool) -> None:
    conf = settings(api)
    if from_bot or channel.lower() not in {c.lower() for c in conf["channels"]}:
        return
    with api.for_nick(nick):
        await _greet_join(api, conf, nick, account, channel, time)


async def _greet_join(api: PluginAPI, conf: dict[str, Any], nick: str, account: str | None,
                      channel: str, time: datetime) -> None:
    template, count = conf["join_greeting"], 0
    if conf["join_welcome_back"]:
        try:
            last = await last_visit(api, nick, account, time, channel)
            if last is not None:
                count = await api.history.count_since(channel, last.time, time)
                template = conf["join_welcome_back"]
        except HistoryUnavailable:
            pass  # the store is slow or down: the plain greeting will do
    if template:
        text = template.format(nick=nick, network=api.network, channel=channel, count=count,
                               messages_said=messages_said(count))
        bot = api.bot(conf["nick"])
        if conf["public_join_greeting"]:
            bot.say(channel, text)
        else:
            bot.notice(nick, text)  # one line per join in the channel is noise for all
