"""History's private-conversation indexes on PostgreSQL hold private lines only (0014).

The network worker stores every channel line of a node (``ircish.network.history``);
a channel line leaves ``sender_session``, ``recipient_session``,
``recipient_account`` and ``recipient_key`` NULL, so the four partial indexes
skip it (three index updates instead of seven). The queries that read through
them still do: each names a private line's value or asks ``recipient_key IS NOT
NULL`` itself.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import select

from ircish.core.chathistory import Viewer
from ircish.core.events import MessageEvent
from ircish.history import codec
from ircish.network import history
from ircish.store import queries
from ircish.store.database import open_engine
from ircish.store.schema import history as history_table
from tests.network.test_db import conn, url  # noqa: F401  (fixtures)

PARTIAL = {
    "ix_history_sender_session": "(sender_session IS NOT NULL)",
    "ix_history_recipient_session": "(recipient_session IS NOT NULL)",
    "ix_history_account": "(recipient_key IS NOT NULL)",
    "ix_history_recipient_account": "(recipient_account IS NOT NULL)",
}


def _line(n: int, target: str, account: str | None = "acct", **private: Any) -> MessageEvent:
    return MessageEvent(
        msgid=f"m{n}",
        micros=1_000_000 + n,
        command="PRIVMSG",
        source="a!u@h",
        nick="a",
        account=account,
        target=target,
        is_channel=target.startswith("#"),
        text=f"line {n}",
        **private,
    )


def test_channel_lines_skip_the_private_indexes(
    conn: psycopg.Connection[Any],  # noqa: F811
    url: str,  # noqa: F811
) -> None:
    channel = [_line(n, "#x") for n in range(3000)]
    private = [
        _line(10_000 + n, "bob", session="sa", recipient_session="sb", recipient_account="bobacct")
        for n in range(3)
    ]
    with conn.transaction(), conn.cursor() as cur:
        history.store(cur, history.batch_of(codec.encode([*channel, *private])))
    predicates = dict(
        conn.execute(
            "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index"
            " WHERE indrelid = 'history'::regclass AND indpred IS NOT NULL"
        ).fetchall()
    )
    assert predicates == PARTIAL
    # An index's pages: a metapage and one leaf hold the three private lines, while
    # an index of every line needs a dozen (btree does not count its entries cheaply).
    pages = dict(
        conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int"
            " FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE i.indrelid = 'history'::regclass"
        ).fetchall()
    )
    assert {name: pages[name] for name in PARTIAL} == dict.fromkeys(PARTIAL, 2)
    assert pages["ix_history_target_time"] > 10
    conn.commit()

    # The readers' queries still go through them (sequential scans off: a table this
    # small would be read whole otherwise) and find the private lines.
    engine = open_engine(url)
    try:
        with engine.connect() as db:
            db.exec_driver_sql("SET enable_seqscan = off")
            for viewer, uses in (
                (Viewer("a", account="acct"), {"ix_history_account"}),
                (Viewer("bob", account="bobacct"), {"ix_history_recipient_account"}),
                (Viewer("a", session="sa"), {"ix_history_sender_session"}),
                (Viewer("bob", session="sb"), {"ix_history_recipient_session"}),
            ):
                other = "bob" if viewer.nick == "a" else "a"
                for cond in (queries.private_rows(viewer, other), queries.all_private_rows(viewer)):
                    query = select(history_table.c.msgid).where(cond)
                    compiled = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
                    plan = "\n".join(r[0] for r in db.exec_driver_sql("EXPLAIN " + compiled))
                    assert all(name in plan for name in uses), (viewer, plan)
                    assert sorted(db.execute(query).scalars()) == ["m10000", "m10001", "m10002"]
                found = queries.targets(db, viewer, 0, 10_000_000, 10)
                assert [t.name for t in found] == [other], viewer
    finally:
        engine.dispose()
