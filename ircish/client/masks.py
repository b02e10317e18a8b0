"""IRC masks (``nick!user@host`` with ``*`` and ``?``) for /ban and /ignore."""

from __future__ import annotations

import re
from collections.abc import Callable

WILDCARDS = "*?"


def is_mask(text: str) -> bool:
    """Whether ``text`` is a mask rather than a bare nick."""
    return any(ch in text for ch in "!@*?")


def normalise(mask: str) -> str:
    """A partial mask made whole: ``bob*`` is ``bob*!*@*``, ``*@host`` is ``*!*@host``."""
    if "!" not in mask and "@" not in mask:
        return mask + "!*@*"
    if "!" not in mask:
        return "*!" + mask
    if "@" not in mask:
        return mask + "@*"
    return mask


def matches(mask: str, source: str, casefold: Callable[[str], str]) -> bool:
    """Whether a message's source matches ``mask`` (a bare nick compares the nick).

    Globbed by hand rather than with fnmatch, which would read ``[`` and ``]``
    in nicks as character classes.
    """
    nick = source.split("!")[0]
    if not is_mask(mask):
        return casefold(mask) == casefold(nick)
    full = source if "!" in source else source + "!*@*"
    return glob(casefold(normalise(mask)), casefold(full))


def glob(pattern: str, text: str) -> bool:
    """``*`` and ``?`` only: channel names and nicks contain ``[`` and ``]``."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def host_ban(userhost: str) -> str:
    """The mask irssi's /ban uses for a user: anyone from that host."""
    host = userhost.split("@", 1)[-1]
    return f"*!*@{host}"
