"""The upkeep merges the search index's pending entries (``search_index``), so no commit
of a batch finds the pending list full and merges it inside itself."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import trio

from ircish.core.events import MessageEvent
from ircish.history import codec
from ircish.network import db, search_index, upkeep, worker
from tests.network.test_db import url  # noqa: F401  (fixture)


def _say(conn: psycopg.Connection[Any], count: int) -> None:
    lines = [MessageEvent(msgid=f"m{n}", micros=n, command="PRIVMSG", source="a!u@h", nick="a",
                          account=None, target="#x", is_channel=True, text=f"word{n} common")
             for n in range(count)]
    ops = [{"t": "msg", "command": "PRIVMSG", "source": "a!u@h", "account": None,
            "target": "#x", "channel": True, "text": ev.text, "tags": {}, "msgid": ev.msgid,
            "micros": ev.micros} for ev in lines]
    worker.commit(conn, "n1", 1, ops, codec.encode(lines))


def _found(conn: psycopg.Connection[Any], word: str) -> int:
    row = conn.execute("SELECT count(*) FROM history WHERE search_vector @@ to_tsquery('simple',"
                       " %s)", (word,)).fetchone()
    assert row is not None
    return int(row[0])


def test_merge_empties_the_pending_list(writer: psycopg.Connection[Any], url: str  # noqa: F811
                                        ) -> None:
    _say(writer, 300)
    assert search_index.merge(writer) > 0
    assert search_index.merge(writer) == 0  # nothing left pending
    assert _found(writer, "common") == 300 and _found(writer, "word7") == 1
    # One node at a time.
    other = db.connect(url, autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", (search_index.LOCK,))
        assert search_index.merge(writer) is None
    finally:
        other.close()


async def test_the_upkeep_merges(writer: psycopg.Connection[Any], url: str  # noqa: F811
                                 ) -> None:
    await trio.to_thread.run_sync(_say, writer, 300)
    rounds = 0
    second = trio.Event()

    def applied() -> dict[str, int]:
        # Asked at the start of each round: the second time, the first round is done.
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            second.set()
        return {}

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(upkeep.run, url, "n1", applied, 3600, 0.05)
            await second.wait()
            nursery.cancel_scope.cancel()
    assert await trio.to_thread.run_sync(search_index.merge, writer) == 0
    assert _found(writer, "common") == 300


async def test_without_the_index_the_upkeep_goes_on(
    writer: psycopg.Connection[Any], url: str, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    writer.execute(f"DROP INDEX {search_index.INDEX}")
    upkeep_conn = db.connect(url, autocommit=True)
    try:
        assert not await upkeep._merge(upkeep_conn, "n1")
    finally:
        upkeep_conn.close()
    assert "cannot merge the search index" in caplog.text
    # The upkeep still publishes and prunes.
    db.append(writer, "n1", 1, [{"t": "msg", "n": 1}])
    with trio.move_on_after(1):
        await upkeep.run(url, "n1", lambda: {"n2": 1}, 0, 0.05)
    row = writer.execute("SELECT seq FROM network_positions WHERE node_id = 'n1'").fetchone()
    assert row == (1,)
