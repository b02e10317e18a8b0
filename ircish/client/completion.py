"""Tab completion of nicks, channels and commands, cycling on repeated Tab.

Pure string work so it can be tested without a screen: the input widget hands
over its text and cursor and gets back new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ircish.client.model import Buffer, BufferKind, Buffers


@dataclass
class _Cycle:
    start: int
    matches: list[str]
    index: int
    suffix: str
    produced: tuple[str, int]  # (text, cursor) we left behind; anything else ends the cycle


def nick_candidates(buffer: Buffer, own_nick: str, casefold: Callable[[str], str]) -> list[str]:
    """Who is likely meant: recent speakers first, then everyone else by name."""
    seen: dict[str, str] = {}
    for line in reversed(buffer.lines[-200:]):
        if line.nick and line.kind in ("message", "action", "notice"):
            seen.setdefault(casefold(line.nick), line.nick)
    present = {key: member.nick for key, member in buffer.members.items()}
    ordered = [nick for key, nick in seen.items() if key in present or not buffer.is_channel]
    rest = sorted((nick for key, nick in present.items() if key not in seen), key=casefold)
    if buffer.kind is BufferKind.QUERY and casefold(buffer.name) not in seen:
        ordered.append(buffer.name)
    own = casefold(own_nick)
    return [nick for nick in ordered + rest if casefold(nick) != own]


class Completer:
    """Completes the word at the cursor; a repeated Tab moves to the next match."""

    def __init__(self, commands: Callable[[], list[str]]) -> None:
        self._commands = commands
        self._cycle: _Cycle | None = None

    def reset(self) -> None:
        self._cycle = None

    def complete(
        self, text: str, cursor: int, buffers: Buffers, own_nick: str, chantypes: str = "#&"
    ) -> tuple[str, int]:
        cycle = self._cycle
        if cycle is None or cycle.produced != (text, cursor):
            cycle = self._start(text, cursor, buffers, own_nick, chantypes)
            if cycle is None:
                return text, cursor
            self._cycle = cycle
        else:
            # Take back the previous choice, then put in the next one.
            previous = cycle.matches[cycle.index] + cycle.suffix
            text = text[: cycle.start] + text[cycle.start + len(previous) :]
            cursor = cycle.start
            cycle.index = (cycle.index + 1) % len(cycle.matches)
        choice = cycle.matches[cycle.index] + cycle.suffix
        new_text = text[: cycle.start] + choice + text[cursor:]
        new_cursor = cycle.start + len(choice)
        cycle.produced = (new_text, new_cursor)
        return new_text, new_cursor

    def _start(
        self, text: str, cursor: int, buffers: Buffers, own_nick: str, chantypes: str
    ) -> _Cycle | None:
        start = text.rfind(" ", 0, cursor) + 1
        word = text[start:cursor]
        fold = buffers.casefold
        if start == 0 and word.startswith("/"):
            pool = ["/" + name for name in self._commands()]
            suffix = " "
        elif word[:1] and word[0] in chantypes:
            pool = [b.name for b in buffers.channels()]
            suffix = " "
        else:
            pool = nick_candidates(buffers.current, own_nick, fold)
            suffix = ": " if start == 0 else " "
        matches = [item for item in pool if fold(item).startswith(fold(word))]
        if not matches:
            return None
        return _Cycle(start, matches, 0, suffix, (text, cursor))
