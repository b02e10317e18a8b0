"""The message path: PRIVMSG, NOTICE and TAGMSG, from the parsed line to the sinks.

The command table points the three verbs straight here, and bots send through
``deliver`` too, so one path decides who may speak (``Channel.can_send``), runs
the message filters, fans the line out and emits the event. It is the hot path:
a channel message is encoded once per tag group and handed to ``server.fanout``
group by group, with no Python work per member.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.filters import Reject
from ircish.core.multiline import CAP as MULTILINE_CAP
from ircish.core.state import BOT_MODE, PREFIX_RANK, PREFIXES, TAG_MESSAGE_TAGS

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message

    # Where a message goes once its target is checked: (recipients and their
    # prefixes, the target as shown, its canonical name, the channel or None, the
    # private recipient or None, the lowest rank a STATUSMSG reaches or None).
    Route = tuple[dict[User, str], str, str, Channel | None, User | None, int | None]

log = logging.getLogger("ircish.core")

_STATUS_RANK = {symbol: PREFIX_RANK[mode] for mode, symbol in PREFIXES}
# ":source PRIVMSG target :" around the text of a relayed line.
_FRAME_BYTES = len(":  PRIVMSG  :")


def _apply_filters(server: Server, user: User, verb: str, target: str, text: str) -> str | Reject:
    for message_filter in server.message_filters:
        try:
            result = message_filter(user, verb, target, text)
        except Exception:
            log.exception("message filter %r failed; message delivered unfiltered", message_filter)
            continue
        if result is not None:
            return result
    return text


# The three verbs' handlers: the line is parsed by ``deliver`` itself, which a bot
# calls with a line of its own.


def privmsg(server: Server, user: User, msg: Message) -> None:
    deliver(server, user, msg, "PRIVMSG")


def notice(server: Server, user: User, msg: Message) -> None:
    deliver(server, user, msg, "NOTICE")


def tagmsg(server: Server, user: User, msg: Message) -> None:
    deliver(server, user, msg, "TAGMSG")


def deliver(server: Server, user: User, msg: Message, verb: str) -> None:
    quiet = verb == "NOTICE"  # no automatic error replies to a NOTICE
    params = msg.params
    if not params or not params[0]:
        if not quiet:
            server.numeric(user, N.ERR_NORECIPIENT, f"No recipient given ({verb})")
        return
    if verb == "TAGMSG":
        text = ""
    elif len(params) < 2 or not params[1]:
        if not quiet:
            server.numeric(user, N.ERR_NOTEXTTOSEND, "No text to send")
        return
    else:
        text = params[1]
    client_tags = None
    if msg.tags:
        if "batch" in msg.tags and MULTILINE_CAP in user.caps:
            # A line of a multiline batch that is not open (ircish.multiline takes
            # those of an open one before they get here).
            server.fail(user, "BATCH", "MULTILINE_INVALID", "No such multiline batch is open")
            return
        if user.tagmask & TAG_MESSAGE_TAGS:
            client_tags = {k: v for k, v in msg.tags.items() if k.startswith("+")} or None
    targets = params[0].split(",")
    if len(targets) > server.limits.targets_per_message:
        if not quiet:
            server.numeric(user, N.ERR_TOOMANYTARGETS, params[0], "Too many targets")
        return
    for target in targets:
        if target:
            _deliver_one(server, user, verb, target, text, client_tags, quiet)


def route(server: Server, user: User, verb: str, target: str, quiet: bool) -> Route | None:
    """The checks of one target (it exists, ``user`` may speak there, RPL_AWAY),
    shared by single lines and multiline batches; None after an error reply."""
    min_rank = None
    name = target
    if target[0] in _STATUS_RANK and len(target) > 1 and target[1] == "#":
        min_rank = _STATUS_RANK[target[0]]
        name = target[1:]
    if name[0] == "#":
        channel = server.find_channel(name)
        if channel is None:
            if not quiet:
                server.numeric(user, N.ERR_NOSUCHCHANNEL, name, "No such channel")
            return None
        if not channel.can_send(user):
            if not quiet:
                server.numeric(user, N.ERR_CANNOTSENDTOCHAN, channel.name,
                               "Cannot send to channel")
            return None
        display = channel.name if min_rank is None else target[0] + channel.name
        return channel.members, display, channel.name, channel, None, min_rank
    recipient = server.find_user(name)
    if recipient is None:
        if not quiet:
            server.numeric(user, N.ERR_NOSUCHNICK, name, "No such nick/channel")
        return None
    if recipient.away is not None and verb == "PRIVMSG" and recipient.service is None:
        server.numeric(user, N.RPL_AWAY, recipient.nick, recipient.away)
    return {recipient: ""}, recipient.nick, recipient.nick, None, recipient, None


def filter_text(server: Server, user: User, verb: str, canonical: str, is_channel: bool,
                text: str) -> str | None:
    """The message filters' verdict on ``text``: the text to deliver, or None after
    telling ``user`` why it was refused."""
    result = _apply_filters(server, user, verb, canonical, text)
    if isinstance(result, Reject):
        server.numeric(user, N.ERR_CANNOTSENDTOCHAN, canonical,
                       f"Cannot send to {'channel' if is_channel else 'nick'}: "
                       f"{result.reason}")
        return None
    return result


def _deliver_one(
    server: Server, user: User, verb: str, target: str, text: str,
    client_tags: dict[str, str] | None, quiet: bool,
) -> None:
    found = route(server, user, verb, target, quiet)
    if found is None:
        return
    recipients, display, canonical, channel, recipient, min_rank = found
    is_channel = channel is not None
    if recipient is not None and recipient.service is not None:
        # A service's commands (passwords among them) are answered, never
        # relayed, filtered or stored.
        if verb != "TAGMSG":
            recipient.service(user, verb, text)
        return
    if server.message_filters and verb != "TAGMSG":
        filtered = filter_text(server, user, verb, canonical, is_channel, text)
        if filtered is None:
            return
        text = filtered
    # A cheap bound first: at most 4 bytes a character, so most lines skip encoding.
    if (len(text) + len(user.source) + len(display)) * 4 > server.line_budget - _FRAME_BYTES:
        text = server.fit_trailing(f":{user.source} {verb} {display} :", text)
    params = [display] if verb == "TAGMSG" else [display, text]
    line = server.new_line(verb, params, user.source, client_tags, sender=user)
    ts = line.ts
    tags_only = verb == "TAGMSG"
    if channel is not None and min_rank is None:
        # The hot path: whole tag groups at once, no per-member Python work here.
        skip = user.sink
        for mask, sinks in channel.sinks_by_mask.items():
            if not tags_only or mask & TAG_MESSAGE_TAGS:
                server.fanout(sinks, line.for_mask(mask), skip)
    else:
        for member, held in recipients.items():
            # A channel member's own copy is the echo alone. A message to oneself is
            # delivered, and echoed too with echo-message (as Ergo does): the
            # delivery is a side effect, the echo is the reply that carries a label.
            if member is user and is_channel:
                continue
            if min_rank is not None and (not held or PREFIX_RANK[held[0]] > min_rank):
                continue
            if tags_only and not member.tagmask & TAG_MESSAGE_TAGS:
                continue
            member.sink.send(line.for_mask(member.tagmask))
    if "echo-message" in user.caps and not (tags_only and not user.tagmask & TAG_MESSAGE_TAGS):
        server.reply(user, line.for_mask(user.tagmask))
    stored_tags = client_tags or {}
    if BOT_MODE in user.modes and verb != "TAGMSG":
        # Kept with the line: history marks it and replay can leave it out.
        stored_tags = {**stored_tags, "bot": ""}
    server.emit(events.MessageEvent(
        line.msgid, server.micros(ts), verb, user.source, user.nick,  # type: ignore[arg-type]
        user.account, canonical, is_channel, text, stored_tags,
        None if recipient is None else recipient.account,
        None if recipient is None else user.session,
        None if recipient is None else recipient.session,
        status=display[0] if min_rank is not None else "",
    ))
