"""The lines of the registration burst that are the same for every client.

002-005 (YOURHOST, CREATED, MYINFO, ISUPPORT) and the MOTD differ between clients only
in the nick after the numeric, and they change only with the config. A storm of
connections formatted those ~12 lines again for every client; here they are formatted
once, with a placeholder where the nick goes, so a client's copy is one ``bytes.join``.

``Server.static_replies`` is the one cache; ``Server.reset_static_replies`` drops it
(an extension adding ISUPPORT tokens does, and so must a config reload).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# Stands for the nick while the lines are formatted; a config whose text holds it
# (a MOTD with a NUL) is not cached, and every line is formatted per client instead.
_NICK = "\x00"
_NICK_B = _NICK.encode()

# One numeric: its code and its parameters after the nick.
Numeric = tuple[str, tuple[str, ...]]


class StaticReplies:
    """Numerics formatted once for any nick: ``for_nick(nick)`` gives their bytes."""

    __slots__ = ("_fallback", "_longest", "_numerics", "_segments")

    def __init__(
        self,
        numerics: Sequence[Numeric],
        format_numeric: Callable[[str, str, Sequence[str]], bytes],
        line_budget: int,
    ) -> None:
        self._numerics = tuple(numerics)
        lines = [format_numeric(_NICK, code, params) for code, params in self._numerics]
        self._fallback = format_numeric
        # A nick longer than this would make some line too long; those are cut,
        # so they take the formatting path that knows how.
        self._longest = line_budget - max((len(line) - 3 for line in lines), default=0)
        if any(line.count(_NICK_B) != 1 for line in lines):
            self._segments: list[bytes] | None = None
        else:
            self._segments = b"".join(lines).split(_NICK_B)

    def for_nick(self, nick: str) -> bytes:
        nick_b = nick.encode("utf-8", "replace")
        if self._segments is not None and len(nick_b) <= self._longest:
            return nick_b.join(self._segments)
        fmt = self._fallback
        return b"".join(fmt(nick, code, params) for code, params in self._numerics)
