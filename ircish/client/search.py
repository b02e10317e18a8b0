"""``/search``: the soju.im/search extension from the client's side, as pure functions.

``parse`` reads what the user typed, ``attributes`` makes the ``SEARCH`` line's one
parameter (``key=value;...``, values escaped as message-tag values), and
``result_line`` turns a message of the answer's batch into a line of the search
window: its own time, where it was said and who said it. The session does the
sending and the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ircish.client import mirc
from ircish.client.model import Line, LineKind, now
from ircish.client.text import parse_server_time, strip_formatting
from ircish.protocol import Message
from ircish.protocol.tags import escape_tag_value

CAP = "soju.im/search"
# The spec names the batch type soju.im/search in one place and "search" in another.
BATCH_TYPES = ("soju.im/search", "search")
SEARCH_BUFFER = "-search-"  # a leading "-" is in no nick or channel name
DEFAULT_LIMIT = 50
USAGE = "/search [-in #channel|nick] [-all] [-from nick] [-limit N] text..."


@dataclass(frozen=True)
class Query:
    """One search as asked: ``target`` None means everything the server lets us read."""

    text: str
    target: str | None = None
    sender: str | None = None
    limit: int = DEFAULT_LIMIT

    def describe(self) -> str:
        where = f"in {self.target}" if self.target else "everywhere"
        parts = [f"Search {where}"]
        if self.sender:
            parts.append(f"from {self.sender}")
        if self.text:
            parts.append(f"for {self.text!r}")
        return " ".join(parts)


class SearchUsage(ValueError):
    """What is wrong with the typed arguments, in words for the user."""


def parse(args: str, current: str | None) -> Query:
    """``/search``'s arguments; without ``-in`` or ``-all``, the current window's target."""
    words = args.split()
    target, sender, limit, everywhere = current, None, DEFAULT_LIMIT, False
    text: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if text or not word.startswith("-") or word == "-":
            text.append(word)
        elif word == "-all":
            everywhere = True
        elif word in ("-in", "-from", "-limit"):
            if index + 1 >= len(words):
                raise SearchUsage(f"{word} needs a value. Usage: {USAGE}")
            index += 1
            value = words[index]
            if word == "-in":
                target = value
            elif word == "-from":
                sender = value
            elif value.isdigit() and int(value) > 0:
                limit = int(value)
            else:
                raise SearchUsage(f"-limit takes a number above 0, not {value!r}")
        elif word == "--":
            text.extend(words[index + 1 :])
            break
        else:
            raise SearchUsage(f"Unknown option {word}. Usage: {USAGE}")
        index += 1
    if not text and sender is None:
        raise SearchUsage(f"Search for what? Usage: {USAGE}")
    return Query(" ".join(text), None if everywhere else target, sender, limit)


def attributes(query: Query) -> str:
    """The SEARCH parameter: ``in=#dev;from=bob;text=two\\swords;limit=50``."""
    pairs = [("in", query.target), ("from", query.sender), ("text", query.text or None)]
    found = [f"{key}={escape_tag_value(value)}" for key, value in pairs if value]
    found.append(f"limit={query.limit}")
    return ";".join(found)


def result_line(
    msg: Message, is_me: Callable[[str], bool], is_channel: Callable[[str], bool]
) -> Line | None:
    """One PRIVMSG or NOTICE of the answer as a line: its time, its place, its sender.

    Nothing here answers a CTCP or opens a window: these are old messages.
    """
    if msg.command.upper() not in ("PRIVMSG", "NOTICE") or len(msg.params) < 2:
        return None
    nick = (msg.source or "").split("!")[0]
    target, text = msg.params[0], msg.params[1]
    kind: LineKind = "notice" if msg.command.upper() == "NOTICE" else "message"
    if text.startswith("\x01"):
        verb, _, rest = text.strip("\x01").partition(" ")
        if verb.upper() != "ACTION":
            return None
        kind, text = "action", rest
    own = bool(nick) and is_me(nick)
    if is_channel(target.lstrip("@+%&~")):
        where = target
    else:  # filed under the other person, as its query window is
        where = f"{target if own else nick} (private)"
    plain = strip_formatting(text)
    return Line(
        parse_server_time(msg.tags.get("time")) or now(),
        kind,
        plain,
        nick=nick,
        msgid=msg.tags.get("msgid"),
        own=own,
        styled=text if mirc.has_codes(text) else "",
        where=where,
    )
