"""One search question and its answer, as the server and the history worker both see them.

The server builds a ``SearchRequest`` from a client's ``SEARCH`` attributes
(``parse_attributes``, ``words``) after deciding what the client may read; the
worker's ``ircish.store.search.answer`` runs it and returns a ``SearchAnswer``.
Plain values only: no I/O, no database, nothing of Trio.

User text is only ever words: ``words`` keeps runs of letters and digits (any
script) and drops everything else, so no quote, ``*``, ``-``, ``:``, ``NEAR(``
or parenthesis reaches FTS5 or ``to_tsquery`` as an operator; the store quotes
each word again on its side. A phrase in double quotes stays a phrase.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ircish.core.chathistory import Viewer
from ircish.history.records import HistoryRecord
from ircish.protocol.tags import unescape_tag_value

# Results of one SEARCH: the default and the most (a larger limit is cut to it).
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# At most this many words in ``text``: each one is a lookup in the index.
MAX_WORDS = 16
# The most one search may cost the database (seconds): beyond it, the store stops it.
BUDGET_S = 1.0

ATTRIBUTES = frozenset({"in", "from", "after", "before", "text", "limit"})

_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"?')


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What to look for and where the asker may look.

    ``channels``: the channels to search, each with its history epoch (µs; None:
    all of it), chosen by the server from what the asker may read now.
    ``private``: also the asker's private conversations (``viewer`` by account or
    session, the one rule of ``ircish.store.queries``); ``private_with``: only the
    one with that nick. ``sender``: a nick or an account (``sender_like`` is its
    LIKE pattern, loose for the casemapping; the server checks the few found).
    ``after``/``before``: inclusive bounds in µs. ``phrases``: each a tuple of
    words that must appear together, in order; all phrases must match.
    """

    channels: tuple[tuple[str, int | None], ...]
    viewer: Viewer
    private: bool = False
    private_with: str | None = None
    sender: str | None = None
    sender_like: str | None = None
    after: int | None = None
    before: int | None = None
    phrases: tuple[tuple[str, ...], ...] = ()
    limit: int = DEFAULT_LIMIT
    budget_s: float = BUDGET_S

    @property
    def sub(self) -> str:
        # The worker's log names requests by their subcommand.
        return "SEARCH"


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """The lines found (ascending ``(time, id)``), or ``stopped``: the search cost
    more than its budget and was given up."""

    records: tuple[HistoryRecord, ...] = ()
    stopped: bool = False


def phrases_of(text: str) -> tuple[tuple[str, ...], ...]:
    """``text`` as phrases of words: ``"blue harbour" dawn`` is the phrase (blue,
    harbour) and the word (dawn). Nothing else in it means anything. Case is left to
    the database, which folds the words as it folded the texts it indexed."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[str, ...]] = []
    rest = []
    last = 0
    for match in _PHRASE.finditer(text):
        rest.append(text[last : match.start()])
        words = tuple(_WORD.findall(match.group(1)))
        if words:
            found.append(words)
        last = match.end()
    rest.append(text[last:])
    for chunk in rest:
        found.extend((w,) for w in _WORD.findall(chunk))
    unique: dict[tuple[str, ...], tuple[str, ...]] = {}
    for phrase in found:
        unique.setdefault(tuple(w.lower() for w in phrase), phrase)
    return tuple(unique.values())


def word_count(phrases: tuple[tuple[str, ...], ...]) -> int:
    return sum(len(p) for p in phrases)


def parse_attributes(raw: str) -> tuple[dict[str, str], str | None]:
    """``in=#chan;text=hello\\sthere`` (message-tag syntax and escapes) to a dict, or
    the first attribute that is unknown, repeated or empty as the error."""
    attrs: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        name = key.lower()
        if name not in ATTRIBUTES or name in attrs:
            return attrs, key or "="
        value = unescape_tag_value(value) if sep else ""
        if not value:
            return attrs, key
        attrs[name] = value
    return attrs, None


def like_nick(nick: str) -> str:
    """A case-insensitive LIKE pattern for ``nick`` under any casemapping: SQL folds
    ASCII letters only, rfc1459 also pairs []\\~ with {}|^, so those match any one
    character (the server checks what is found)."""
    out = []
    for char in nick:
        if char in "[]{}\\|^~":
            out.append("_")
        elif char in "%_":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)
