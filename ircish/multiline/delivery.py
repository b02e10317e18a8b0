"""A finished multiline message through the message path's rules, once, to everyone.

``core.delivery.route`` checks the target (no such nick or channel, ``+n``, ``+m``,
bans, RPL_AWAY) and the message filters see the whole message, exactly as for one
PRIVMSG; then each recipient gets the encoding it can read
(``core.multiline.MessageLines``) and one ``MessageEvent`` goes to history and the
plugins. Batches are rare next to single lines, so this walks the members one by
one (one encoding per tag mask and capability) instead of the fan-out by tag group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ircish.core import delivery, events
from ircish.core.multiline import Line, MessageLines, combine, fit_line, wants_batch
from ircish.core.state import BOT_MODE, PREFIX_RANK

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User


def deliver_multiline(
    server: Server, user: User, verb: str, target: str, lines: Sequence[Line],
    client_tags: dict[str, str] | None,
) -> None:
    """A finished multiline batch from ``user``, through the rules once, to everyone."""
    quiet = verb == "NOTICE"
    found = delivery.route(server, user, verb, target, quiet)
    if found is None:
        return
    recipients, display, canonical, channel, recipient, min_rank = found
    if recipient is not None and recipient.service is not None:
        # A service reads commands, one a line, as a client without the cap sends them.
        for text, _ in lines:
            if text:
                recipient.service(user, verb, text)
        return
    if server.message_filters:
        text, _ = combine(lines)
        filtered = delivery.filter_text(server, user, verb, canonical, channel is not None,
                                        text)
        if filtered is None:
            return
        if filtered != text:
            # A filter sees (and rewrites) the whole message; its lines are its text's.
            lines = [(part, False) for part in filtered.split("\n")]
            if not any(part for part, _ in lines):
                return
    head = f":{user.source} {verb} {display} :"
    lines = [(fit_line(head, part, server.line_budget), concat) for part, concat in lines]
    text, offsets = combine(lines)
    msgid = server.new_msgid()
    ts = server.clock()
    message = MessageLines(user.source, verb, display, lines, msgid, ts, client_tags,
                           user.account, BOT_MODE in user.modes, server.line_budget)
    by_kind: dict[tuple[int, bool], bytes] = {}
    for member, held in recipients.items():
        if member is user and channel is not None:
            continue  # the sender's copy is the echo
        if min_rank is not None and (not held or PREFIX_RANK[held[0]] > min_rank):
            continue
        kind = (member.tagmask, wants_batch(member))
        data = by_kind.get(kind)
        if data is None:
            data = by_kind[kind] = message.for_user(member)
        if data:
            member.sink.send(data)
    if "echo-message" in user.caps:
        server.reply(user, message.for_user(user))
    stored_tags = client_tags or {}
    if BOT_MODE in user.modes:
        stored_tags = {**stored_tags, "bot": ""}
    server.emit(events.MessageEvent(
        msgid, server.micros(ts), verb, user.source, user.nick,  # type: ignore[arg-type]
        user.account, canonical, channel is not None, text, stored_tags,
        None if recipient is None else recipient.account,
        None if recipient is None else user.session,
        None if recipient is None else recipient.session,
        offsets,
        display[0] if min_rank is not None else "",
    ))


