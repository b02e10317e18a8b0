"""SETNAME (IRCv3 setname): change one's real name after registration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core.monitor import audience

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

SETNAME_CAP = "setname"


def valid_realname(text: str, max_length: int) -> bool:
    # Blank names and control characters (formatting codes aside) are refused
    # rather than trimmed: the spec has the server refuse, never alter.
    return (
        bool(text.strip())
        and len(text) <= max_length
        and not any(ord(ch) < 0x20 and ch not in "\x02\x03\x0f\x16\x1d\x1e\x1f" for ch in text)
    )


def setname(server: Server, user: User, msg: Message) -> None:
    # Several words without a colon are one name: some clients send `/setname A B` raw.
    text = " ".join(msg.params)
    if not valid_realname(text, server.limits.realname_length):
        server.fail(user, "SETNAME", "INVALID_REALNAME",
                    f"Realname is not valid (1 to {server.limits.realname_length} characters)")
        return
    user.realname = text
    # The sender is confirmed only if it has the capability (without it: silently).
    line = server.relay(audience(server, user, SETNAME_CAP), "SETNAME", [text], user.source)
    server.emit(events.RealnameEvent(line.msgid, server.micros(line.ts), user.source,
                                     user.nick, text))
