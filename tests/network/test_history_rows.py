"""The history rows the network worker stores (``ircish.network.history``): by one
statement whatever the batch's size, in their order, and a batch written again (its
COMMIT's answer lost) adds nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from ircish.core.events import MessageEvent
from ircish.history import codec
from ircish.network import history
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
