"""IRCv3 ``draft/multiline``: one message of several lines, delivered and replayed whole.

A client's batch is assembled and delivered by ``ircish.multiline``; this module
is what the core needs of it: the names, a message's encodings (``MessageLines``:
a ``draft/multiline`` batch for clients with the capability, one msgid on its
BATCH line; the lines as plain messages for the others, blank lines left out,
the msgid on the first), and the stored form. History keeps the spec's combined
value (lines joined by ``\\n``, ``draft/multiline-concat`` lines joined with
nothing) as the text, and the offsets where a concat joined in the message's
tags (``STORED_CONCAT``), so CHATHISTORY gives the same lines back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ircish.core.lines import LineVariants, fit_trailing
from ircish.core.replies import new_batch_id
from ircish.protocol.message import format_line
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

CAP = "draft/multiline"
BATCH_TYPE = "draft/multiline"
CONCAT_TAG = "draft/multiline-concat"
# The key, in a stored message's tags, of the offsets into its text where a line
# was joined to the previous one without a line feed ("12,40"). Never sent as is.
STORED_CONCAT = CONCAT_TAG

# One line of a multiline message: its text, and whether it continues the previous
# line without a line feed (the ``draft/multiline-concat`` tag).
Line = tuple[str, bool]

# ":source VERB target :" around a line's text.
_FRAME_BYTES = len(":  PRIVMSG  :")


def wants_batch(user: User) -> bool:
    """A recipient that reads the batch itself (it needs ``batch`` as well)."""
    caps = user.caps
    return CAP in caps and "batch" in caps


def combine(lines: Sequence[Line]) -> tuple[str, tuple[int, ...]]:
    """The combined message value and the offsets in it where a concat line starts."""
    parts: list[str] = []
    offsets: list[int] = []
    at = 0
    for index, (text, concat) in enumerate(lines):
        if index:
            if concat:
                offsets.append(at)
            else:
                parts.append("\n")
                at += 1
        parts.append(text)
        at += len(text)
    return "".join(parts), tuple(offsets)


def split(text: str, offsets: Sequence[int] = ()) -> list[Line]:
    """``combine`` undone: the lines of ``text``, cut at line feeds and at ``offsets``."""
    cuts = sorted({o for o in offsets if 0 < o < len(text)} | {
        i for i, ch in enumerate(text) if ch == "\n"})
    lines: list[Line] = []
    start, concat = 0, False
    for cut in cuts:
        if text[cut] == "\n":
            lines.append((text[start:cut], concat))
            start, concat = cut + 1, False
        elif cut > start:
            lines.append((text[start:cut], concat))
            start, concat = cut, True
    lines.append((text[start:], concat))
    return lines


def is_stored_multiline(kind: str, text: str, tags: Mapping[str, str]) -> bool:
    return kind in ("PRIVMSG", "NOTICE") and ("\n" in text or STORED_CONCAT in tags)


def stored_offsets(tags: Mapping[str, str]) -> tuple[int, ...]:
    """The concat offsets kept with a stored message; a damaged value reads as none."""
    value = tags.get(STORED_CONCAT, "")
    found = (parse_decimal(part, minimum=1) for part in value.split(",") if part)
    return tuple(o for o in found if o is not None)


def with_offsets(tags: dict[str, str], offsets: Sequence[int]) -> dict[str, str]:
    """``tags`` as the store keeps them for a message with these concat offsets."""
    if not offsets:
        return tags
    return {**tags, STORED_CONCAT: ",".join(map(str, offsets))}


def shift_offsets(tags: dict[str, str], delta: int) -> dict[str, str]:
    """Stored tags after ``delta`` characters were put before the first line's end
    (the time stamp of a replay for clients without server-time)."""
    offsets = stored_offsets(tags)
    if not offsets:
        return tags
    return {**tags, STORED_CONCAT: ",".join(str(o + delta) for o in offsets)}


class MessageLines:
    """One multiline message in the encodings its recipients need, each made once
    per tag mask: the batch (for ``wants_batch``) or the plain fallback lines."""

    __slots__ = ("_close", "_fallback", "_inner", "_opening")

    def __init__(
        self, source: str, verb: str, target: str, lines: Sequence[Line], msgid: str,
        ts: float, client_tags: dict[str, str] | None, account: str | None, bot: bool,
        budget: int,
    ) -> None:
        ref = new_batch_id()
        head = f":{source} {verb} {target} :"
        fitted = [(fit_line(head, text, budget), concat) for text, concat in lines]
        self._opening = LineVariants(
            format_line("BATCH", ["+" + ref, BATCH_TYPE, target], source), msgid, ts,
            client_tags, account, bot)
        inner = []
        for text, concat in fitted:
            tags = {"batch": ref, CONCAT_TAG: ""} if concat else {"batch": ref}
            inner.append((format_line(verb, [target, text], source, tags) + "\r\n").encode(
                "utf-8", "replace"))
        self._inner = inner
        self._close = (format_line("BATCH", ["-" + ref], source) + "\r\n").encode()
        # The spec's fallback: no blank line, tags on every line, the msgid on the first.
        self._fallback = [
            LineVariants(format_line(verb, [target, text], source), msgid if not i else "",
                         ts, client_tags, account, bot)
            for i, text in enumerate(t for t, _ in fitted if t)
        ]

    def lines_for(self, user: User) -> list[bytes]:
        mask = user.tagmask
        if wants_batch(user):
            return [self._opening.for_mask(mask), *self._inner, self._close]
        return [variant.for_mask(mask) for variant in self._fallback]

    def for_user(self, user: User) -> bytes:
        return b"".join(self.lines_for(user))


def fit_line(head: str, text: str, budget: int) -> str:
    """``text`` cut to fit one line after ``head``; a cheap bound first, as the
    message path does, so most lines skip encoding."""
    if (len(text) + len(head)) * 4 <= budget:
        return text
    return fit_trailing(head, text, budget)


def stored_lines(server: Server, user: User, kind: str, source: str, target: str, text: str,
                 msgid: str, micros: int, account: str | None,
                 tags: Mapping[str, str]) -> list[bytes]:
    """A stored multiline message, as ``user`` sees it replayed (CHATHISTORY, join)."""
    client_tags = {k: v for k, v in tags.items() if k != STORED_CONCAT} or None
    message = MessageLines(source, kind, target, split(text, stored_offsets(tags)), msgid,
                           micros / 1_000_000, client_tags, account, False, server.line_budget)
    return message.lines_for(user)
