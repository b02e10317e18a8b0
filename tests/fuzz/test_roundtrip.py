"""Property tests: any line the parser accepts serialises to a line it reads the same.

The default hypothesis profile (``tests/conftest.py``) keeps these to a few seconds;
``IRCISH_FUZZ=long .venv/bin/python -m pytest tests/fuzz`` runs many more examples.

What the protocol promises, and so what is compared: the tags as a dict (their
order and a bare ``key`` versus ``key=`` are not meaning), the source, the verb as
sent, and the parameters. Whether the last one carried a ``:`` is not meaning either.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ircish.protocol import Message, ProtocolError, parse
from ircish.protocol.framing import LineFramer, decode_line

# Lines reach the parser framed: no CR, LF or NUL inside.
LINE_CHARS = st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",))
# Characters with a meaning to the grammar, drawn often so they meet each other.
SYNTAX = st.sampled_from([" ", "  ", ":", " :", "@", ";", "=", "\\", "!", "\t", "\u3000",
                          "\xa0", "\x0b", "\x1c", "#", "*", "+", ","])
WORD = st.text(LINE_CHARS, min_size=1, max_size=12).filter(lambda w: " " not in w)


def _join(parts: list[str]) -> str:
    return "".join(parts)


# Lines that look like IRC: optional tags and source, a verb, some parameters.
TAG = st.tuples(WORD, st.one_of(st.just(None), st.text(LINE_CHARS, max_size=10))).map(
    lambda kv: kv[0].replace("=", "").replace(";", "") + ("" if kv[1] is None else "=" + kv[1])
)
IRCISH_LINE = st.builds(
    lambda tags, source, verb, middles, trailing: " ".join(
        [*(["@" + ";".join(tags).replace(" ", "")] if tags else []),
         *([":" + source] if source is not None else []),
         verb, *middles, *([":" + trailing] if trailing is not None else [])]),
    st.lists(TAG, max_size=4),
    st.one_of(st.none(), WORD),
    st.one_of(st.sampled_from(["PRIVMSG", "privmsg", "001", "JOIN", "MODE", "TAGMSG"]), WORD),
    st.lists(WORD, max_size=16),
    st.one_of(st.none(), st.text(LINE_CHARS, max_size=30)),
)
ANY_LINE = st.one_of(
    IRCISH_LINE,
    st.lists(st.one_of(SYNTAX, WORD), max_size=20).map(_join),
    st.text(LINE_CHARS, max_size=60),
)


def _mutate(line: str, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        at = data.draw(st.integers(0, len(line)), label="at")
        op = data.draw(st.sampled_from(["insert", "delete", "duplicate"]), label="op")
        if op == "insert":
            line = line[:at] + data.draw(st.one_of(SYNTAX, WORD), label="insert") + line[at:]
        elif op == "delete":
            line = line[:at] + line[at + data.draw(st.integers(1, 5), label="n"):]
        else:
            line = line[:at] + line[at:] + line[at:]
    return line


def _same(line: str) -> None:
    try:
        msg = parse(line)
    except ProtocolError:
        return
    again = parse(msg.encode())
    assert again == msg, (line, msg.encode())
    # Serialising is stable: the second line is the first.
    assert again.encode() == msg.encode()


@given(ANY_LINE)
@example("PRIVMSG #chan :\t")
@example("PRIVMSG #chan :hello\u3000world")
@example(": PING x")
@example("@ @x PING")
@example(": : :")
def test_parsed_line_round_trips(line: str) -> None:
    _same(line)


@given(IRCISH_LINE, st.data())
def test_mutated_line_round_trips(line: str, data: st.DataObject) -> None:
    _same(_mutate(line, data))


@given(st.binary(max_size=80))
def test_any_bytes_through_the_framer_round_trip(raw: bytes) -> None:
    framer = LineFramer()
    for chunk in framer.feed(raw + b"\r\n"):
        if isinstance(chunk, bytes):
            _same(decode_line(chunk))


@given(
    st.text(LINE_CHARS.filter(lambda c: c not in " :@"), min_size=1, max_size=10),
    st.lists(st.text(LINE_CHARS, max_size=15), max_size=10),
)
def test_built_message_round_trips(verb: str, params: list[str]) -> None:
    """A message the server builds: a last parameter may hold anything, the
    middle ones are single non-empty words not starting with ':'."""
    middles = [p for p in params[:-1] if p and " " not in p and p[0] != ":"]
    msg = Message(command=verb, params=[*middles, *params[-1:]])
    assert parse(msg.encode()) == msg


def test_only_the_space_separates_parameters() -> None:
    assert parse("PRIVMSG #chan hello\u3000world").params == ["#chan", "hello\u3000world"]
    assert parse("PRIVMSG #chan :\t").encode() == "PRIVMSG #chan \t"


@pytest.mark.parametrize("line", ["@a=1 @b PING", ": : :", "@ :x"])
def test_a_verb_that_could_not_be_written_back_is_no_verb(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse(line)
