"""How a line reads, shared by plain mode and the full-screen view."""

from __future__ import annotations

import zlib

from ircish.client.model import Buffer, BufferKind, Line
from ircish.protocol import casefold

# The sixteen basic colours minus black, white, greys and dark blue, which vanish
# on common dark or light backgrounds or look like ordinary text.
NICK_COLOURS = (
    "light red",
    "light green",
    "yellow",
    "light blue",
    "light magenta",
    "light cyan",
    "dark red",
    "dark green",
    "brown",
    "dark cyan",
    "dark magenta",
)


def nick_colour_index(nick: str) -> int:
    """A stable colour for a nick: crc32, unlike hash(), is the same in every run."""
    return zlib.crc32(casefold(nick).encode("utf-8")) % len(NICK_COLOURS)


def clock(line: Line, seconds: bool = True) -> str:
    return line.time.astimezone().strftime("%H:%M:%S" if seconds else "%H:%M")


def body(line: Line) -> tuple[str, str, str]:
    """(before, nick, after): the line's text with the nick kept apart for colouring."""
    where = line.where + " " if line.where else ""
    match line.kind:
        case "message":
            return where + "<", line.nick, "> " + line.text
        case "action":
            return where + "* ", line.nick, " " + line.text
        case "notice":
            return where + "-", line.nick, "- " + line.text
        case _:
            marks = {
                "join": "--> ",
                "part": "<-- ",
                "quit": "<-- ",
                "kick": "<-- ",
                "error": "!!! ",
            }
            return marks.get(line.kind, "-!- "), "", line.text


def plain_text(line: Line) -> str:
    before, nick, after = body(line)
    return before + nick + after


def buffer_label(buffer: Buffer) -> str:
    """The name plain mode prints in front of a line."""
    return "*" if buffer.kind is BufferKind.SERVER else buffer.name


def plain_line(buffer: Buffer, line: Line) -> str:
    """``HH:MM:SS #chan <nick> text``: one event, one line, easy to grep."""
    return f"{clock(line)} {buffer_label(buffer)} {plain_text(line)}"
