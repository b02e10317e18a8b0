"""Getting the user's attention: the terminal bell and the window title.

A highlight (our nick or a configured word) or a private message rings the
bell and puts who and where in the terminal's title, so a terminal in the
background says why it wants looking at; once nothing is waiting the title
goes back to plain. Only the escape sequences are made here; the view writes
them to its terminal.
"""

from __future__ import annotations

from collections.abc import Callable

from ircish.client.model import CHAT_KINDS, Buffer, BufferKind, Buffers, Line

BELL = "\a"
TITLE_PREFIX = "ircish"


def wants_attention(buffer: Buffer, line: Line) -> bool:
    if line.own or line.kind not in CHAT_KINDS:
        return False
    return line.mention or (buffer.kind is BufferKind.QUERY and line.kind != "notice")


def title_sequence(title: str) -> str:
    # OSC 2 sets the window title; control characters in a nick must not end it early.
    safe = "".join(ch for ch in title if ch.isprintable())
    return f"\x1b]2;{safe}\x07"


class Notifier:
    """Bell and title, written through ``write`` (the terminal's output)."""

    def __init__(self, write: Callable[[str], None], *, bell: bool = True) -> None:
        self.write = write
        self.bell = bell
        self.alerted = False

    def line_added(self, buffer: Buffer, line: Line) -> None:
        if not self.bell or not wants_attention(buffer, line):
            return
        where = "private message" if buffer.kind is BufferKind.QUERY else buffer.name
        self.write(BELL + title_sequence(f"{TITLE_PREFIX}: {line.nick} ({where})"))
        self.alerted = True

    def seen(self, buffers: Buffers) -> None:
        """Put the title back once every window that called is looked at."""
        if self.alerted and not any(b.mentioned for b in buffers.all):
            self.alerted = False
            self.write(title_sequence(TITLE_PREFIX))
