"""Small text helpers for chat lines: formatting codes, mentions, splitting, times."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

# mIRC bold, colour (with its optional fg,bg digits), hex colour, reset, monospace,
# reverse, italics, strikethrough, underline. Shown as plain text: the view uses
# its own colours, and a stray code must never reach the terminal.
_FORMATTING = re.compile(
    r"\x03(\d{1,2}(,\d{1,2})?)?"
    r"|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
# Other C0 controls would move the cursor or ring the bell in a terminal.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def strip_formatting(text: str) -> str:
    return _CONTROLS.sub("", _FORMATTING.sub("", text))


def mentions(text: str, nick: str, casefold: Callable[[str], str]) -> bool:
    """Whether ``nick`` appears in ``text`` as a word of its own."""
    if not nick:
        return False
    folded_nick = casefold(nick)
    folded = casefold(text)
    start = 0
    while (index := folded.find(folded_nick, start)) >= 0:
        end = index + len(folded_nick)
        before = folded[index - 1] if index else " "
        after = folded[end] if end < len(folded) else " "
        if not _nick_char(before) and not _nick_char(after):
            return True
        start = index + 1
    return False


def _nick_char(ch: str) -> bool:
    return ch.isalnum() or ch in "[]\\`_^{|}-"


def split_utf8(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-8 bytes, at spaces when possible.

    Servers truncate a line over 512 bytes silently, so a long message is sent
    as several instead of losing its end.
    """
    limit = max(limit, 16)
    pieces: list[str] = []
    while len(text.encode("utf-8")) > limit:
        cut = 0
        size = 0
        for index, ch in enumerate(text):
            size += len(ch.encode("utf-8"))
            if size > limit:
                break
            cut = index + 1
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            pieces.append(text[:space])
            text = text[space + 1 :]
        else:
            pieces.append(text[:cut])
            text = text[cut:]
    pieces.append(text)
    return pieces


def parse_server_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_server_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def count(number: int, word: str) -> str:
    """``1 user``, ``2 users``: English plurals of the words the client counts."""
    return f"{number} {word}" if number == 1 else f"{number} {word}s"
