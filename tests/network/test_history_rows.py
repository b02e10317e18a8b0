"""The history rows the network worker stores (``ircish.network.history``): by one
statement whatever the batch's size, in their order, and a batch written again (its
COMMIT's answer lost) adds nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from ircish.core.events import JoinEvent, MessageEvent
from ircish.history import codec
from ircish.network import history
from ircish.network.db import HISTORY_COLUMNS
from tests.network.test_db import conn, url  # noqa: F401  (fixtures)


def _line(n: int) -> MessageEvent:
    # Every line the same microsecond: only the insertion order tells them apart.
    return MessageEvent(msgid=f"m{n}", micros=1_000_000, command="PRIVMSG", source="a!u@h",
                        nick="a", account=None, target="#x", is_channel=True,
                        text=f"line {n}", tags={"+k": "v"} if n % 2 else {})


@pytest.mark.parametrize("count", [3, 250])
def test_rows_in_order_and_once(conn: psycopg.Connection[Any], count: int) -> None:  # noqa: F811
    encoded = codec.encode([_line(n) for n in range(count)])
    for _ in range(2):
        with conn.transaction(), conn.cursor() as cur:
            history.store(cur, history.batch_of(encoded))
    rows = conn.execute("SELECT msgid, text, tags, search_vector IS NOT NULL FROM history"
                        " ORDER BY time, id").fetchall()
    assert rows == [(f"m{n}", f"line {n}", '{"+k":"v"}' if n % 2 else None, True)
                    for n in range(count)]


def test_channel_lines_are_the_rows_to_batch_makes() -> None:
    """``channel_lines`` builds the rows of channel messages from the tuples; they must
    be ``to_batch``'s, column for column."""
    lines = [
        _line(1),
        _line(2),
        MessageEvent(msgid="a", micros=5, command="NOTICE", source="b!u@h", nick="b",
                     account="bob", target="#Chan[x]", is_channel=True, text="é ü 😀"),
        MessageEvent(msgid="c", micros=6, command="PRIVMSG", source="b!u@h", nick="b",
                     account=None, target="#x", is_channel=True, text="one\ntwo",
                     tags={"+draft/reply": "m1"}, concat=(3,), status="@"),
        MessageEvent(msgid="d", micros=7, command="TAGMSG", source="b!u@h", nick="b",
                     account=None, target="#x", is_channel=True, text="",
                     concat=(0,)),
    ]
    encoded = codec.encode(lines)
    got = history.channel_lines(encoded)
    assert got is not None
    rows = history.batch_of(encoded).history
    # Column by column, a column left out being NULLs only.
    assert set(got) <= set(HISTORY_COLUMNS)
    for name in HISTORY_COLUMNS:
        assert got.get(name, [None] * len(rows)) == [r[name] for r in rows], name
    assert "account" in got and "tags" in got and "param" not in got
    fast, slow = history.Careful(encoded).inline(), history.inline(history.batch_of(encoded))
    assert fast is not None and slow is not None
    assert fast.history == slow.history
    # Anything else goes through to_batch.
    private = MessageEvent(msgid="p", micros=8, command="PRIVMSG", source="b!u@h", nick="b",
                           account=None, target="alice", is_channel=False, text="hi")
    join = JoinEvent(nick="b", account=None, channel="#x", source="b!u@h", msgid="j",
                     micros=9)
    for other in (private, join):
        assert history.channel_lines(codec.encode([*lines, other])) is None
