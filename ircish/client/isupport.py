"""What the server told us about itself in RPL_ISUPPORT (005), with safe defaults.

Servers differ in prefix characters, channel types and which modes take an
argument; reading them from 005 is what lets the client work with any server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ircish.protocol import casefold as rfc1459_casefold

_ASCII = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_casefold(name: str) -> str:
    return name.translate(_ASCII)


@dataclass
class ISupport:
    """The RPL_ISUPPORT tokens the client acts on; the rest is kept in ``raw``."""

    prefix_modes: str = "ov"
    prefix_chars: str = "@+"
    chantypes: str = "#&"
    # CHANMODES groups A (list), B (always an argument), C (argument when set), D (none).
    chanmodes: tuple[str, str, str, str] = ("beI", "k", "l", "imnpst")
    casemapping: str = "rfc1459"
    network: str = ""
    chathistory_limit: int = 0
    # Mode changes with an argument per MODE line (MODES; 3 when not said, RFC 2812's).
    modes_per_line: int = 3
    raw: dict[str, str] = field(default_factory=dict)

    def update(self, tokens: list[str]) -> None:
        for token in tokens:
            if token.startswith("-"):
                self.raw.pop(token[1:], None)
                continue
            key, _, value = token.partition("=")
            self.raw[key] = value
            if key == "PREFIX" and value.startswith("(") and ")" in value:
                modes, _, chars = value[1:].partition(")")
                if len(modes) == len(chars):
                    self.prefix_modes, self.prefix_chars = modes, chars
            elif key == "CHANTYPES":
                self.chantypes = value
            elif key == "CHANMODES":
                groups = [*value.split(","), "", "", "", ""][:4]
                self.chanmodes = (groups[0], groups[1], groups[2], groups[3])
            elif key == "CASEMAPPING":
                self.casemapping = value.lower()
            elif key == "NETWORK":
                self.network = value
            elif key == "MODES":
                # "MODES" with no value means no limit; keep lines a sane length anyway.
                number = int(value) if value.isdigit() else 12
                self.modes_per_line = max(1, min(number, 12))
            elif key == "CHATHISTORY":
                self.chathistory_limit = int(value) if value.isdigit() else 0

    def casefold(self, name: str) -> str:
        if self.casemapping == "ascii":
            return ascii_casefold(name)
        return rfc1459_casefold(name)

    def is_channel(self, name: str) -> bool:
        return bool(name) and name[0] in self.chantypes

    def split_prefixes(self, name: str) -> tuple[str, str]:
        """``"@+ada"`` -> ``("@+", "ada")``; NAMES may list several with multi-prefix."""
        index = 0
        while index < len(name) and name[index] in self.prefix_chars:
            index += 1
        return name[:index], name[index:]

    def sort_prefixes(self, prefixes: str) -> str:
        return "".join(sorted(set(prefixes), key=self.prefix_chars.index))

    def mode_changes(self, modes: str, args: list[str]) -> Iterator[tuple[bool, str, str | None]]:
        """Channel mode string -> (adding, mode, argument) in order."""
        adding = True
        queue = list(args)
        group_a, group_b, group_c, _ = self.chanmodes
        for mode in modes:
            if mode in "+-":
                adding = mode == "+"
                continue
            takes_arg = (
                mode in self.prefix_modes
                or mode in group_a
                or mode in group_b
                or (mode in group_c and adding)
            )
            arg = queue.pop(0) if takes_arg and queue else None
            yield adding, mode, arg
