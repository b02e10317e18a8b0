"""Search across history (soju.im/search), the worker's side: the index's names and the query.

The index lives outside the models (``schema``), so autogenerate and ``alembic check``
are told to leave it alone (``include_name``). SQLite: migration 0007's external-content
FTS5 table ``history_fts`` kept by triggers on ``history``. PostgreSQL: migration 0010's
stored generated column ``history.search_vector`` (``to_tsvector('simple', text)`` of
PRIVMSG and NOTICE lines) and its GIN index; a column, unlike 0007's partial expression
index, has statistics, so the planner knows a common word from a rare one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from ircish.search.request import SearchAnswer, SearchRequest
from ircish.store.keys import channel_key
from ircish.store.queries import _COLUMNS as COLUMNS
from ircish.store.queries import _record as record
from ircish.store.queries import all_private_rows, private_rows
from ircish.store.schema import history

log = logging.getLogger("ircish.store.search")

FTS_TABLE = "history_fts"
PG_INDEX = "ix_history_search_vector"
PG_COLUMN = "search_vector"
# 0007's expression index, which 0010 replaces: still there at revisions 0007-0009.
_PG_OLD_INDEX = "ix_history_search"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: False for the search index's tables, column and index."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == PG_COLUMN:
        return parent_names.get("table_name") != history.name
    return not (type_ == "index" and name in (PG_INDEX, _PG_OLD_INDEX))


# ---- the query --------------------------------------------------------------------

_KINDS_SQL = "history.kind IN ('PRIVMSG', 'NOTICE')"
# PostgreSQL's stored vector (migration 0010); NULL for kinds other than these two.
_PG_VECTOR = f"history.{PG_COLUMN}"
# SQLite's progress handler runs every this many virtual machine steps.
_PROGRESS_STEPS = 2_000
_PG_QUERY_CANCELED = "57014"


def fts5_query(phrases: Sequence[Sequence[str]]) -> str:
    """An FTS5 MATCH expression where every phrase is one quoted string (all must match):
    the words are letters and digits already, and a quote would be doubled anyway, so
    nothing in them is ever an FTS5 operator."""
    return " ".join('"' + " ".join(phrase).replace('"', '""') + '"' for phrase in phrases)


def _scope(request: SearchRequest) -> ColumnElement[bool]:
    """The rows the asker may find: the channels chosen for it (each from its epoch)
    and its own private conversations, by the rule CHATHISTORY uses."""
    places: list[ColumnElement[bool]] = []
    for name, since in request.channels:
        cond = history.c.target_key == channel_key(name)
        places.append(cond if since is None else and_(cond, history.c.time >= since))
    if request.private_with is not None:
        places.append(private_rows(request.viewer, request.private_with))
    elif request.private:
        places.append(all_private_rows(request.viewer))
    return or_(*places) if places else false()


def _filters(request: SearchRequest) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [text(_KINDS_SQL), _scope(request)]
    if request.after is not None:
        conds.append(history.c.time >= request.after)
    if request.before is not None:
        conds.append(history.c.time <= request.before)
    if request.sender is not None:
        conds.append(or_(
            history.c.source.ilike((request.sender_like or "") + "!%", escape="\\"),
            func.lower(history.c.account) == request.sender.lower(),
        ))
    return conds


def _statement(conn: Connection, request: SearchRequest) -> Select[Any]:
    oldest_first = request.after is not None
    conds = _filters(request)
    if not request.phrases:
        order = (history.c.time, history.c.id) if oldest_first else (
            history.c.time.desc(), history.c.id.desc())
        return select(*COLUMNS).where(*conds).order_by(*order).limit(request.limit)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # The index drives: FTS5 hands out its matches by rowid (history.id, the
        # arrival order), so newest first stops after ``limit`` visible ones.
        fts = table(FTS_TABLE, column("rowid"))
        rowid = fts.c.rowid
        return (
            select(*COLUMNS)
            .select_from(fts.join(history, history.c.id == rowid))
            .where(literal_column(FTS_TABLE).op("MATCH")(fts5_query(request.phrases)), *conds)
            .order_by(rowid if oldest_first else rowid.desc())
            .limit(request.limit)
        )
    if dialect == "postgresql":
        query = None
        for phrase in request.phrases:
            part = func.phraseto_tsquery(literal_column("'simple'::regconfig"), " ".join(phrase))
            query = part if query is None else query.op("&&")(part)
        matches = literal_column(_PG_VECTOR).op("@@")(query)
    else:
        # No index elsewhere: every word somewhere in the text, case-insensitively.
        matches = and_(*(
            history.c.text.ilike("%" + word.replace("\\", "\\\\").replace("%", "\\%")
                                 .replace("_", "\\_") + "%", escape="\\")
            for phrase in request.phrases for word in phrase
        ))
    order = history.c.id if oldest_first else history.c.id.desc()
    return select(*COLUMNS).where(matches, *conds).order_by(order).limit(request.limit)


def _run_sqlite(conn: Connection, stmt: Select[Any], budget_s: float) -> list[Row[Any]]:
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + budget_s

    def too_long() -> int:
        # Non-zero interrupts the statement (sqlite3.OperationalError: interrupted).
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(too_long, _PROGRESS_STEPS)
    try:
        return list(conn.execute(stmt).all())
    finally:
        raw.set_progress_handler(None, 0)


def _run_postgresql(conn: Connection, stmt: Select[Any], budget_s: float) -> list[Row[Any]]:
    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(budget_s * 1000))}")
    # One core per search: for common words the plan walks the newest ids back, and
    # parallel workers there cost more to start and merge than they save (measured on a
    # busy machine: 105 -> 42 ms and 194 -> 77 ms, benchmarks/RESULTS.md "Search").
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    rows = list(conn.execute(stmt).all())
    # A released savepoint keeps SET LOCAL to the end of the reader's transaction (only
    # a rolled-back one, after an interruption, undoes it): later queries there must not
    # inherit the search's budget.
    conn.exec_driver_sql("SET LOCAL statement_timeout = DEFAULT")
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = DEFAULT")
    return rows


def _stopped(exc: DBAPIError) -> bool:
    """Whether ``exc`` is the budget's own interruption, not a failure."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _PG_QUERY_CANCELED:
        return True
    return isinstance(exc, OperationalError) and "interrupted" in str(orig)


def answer(conn: Connection, request: SearchRequest) -> SearchAnswer:
    """The newest ``limit`` lines matching ``request`` (from ``after`` when given, the
    oldest first then), in ascending order; ``stopped`` when it cost too much."""
    stmt = _statement(conn, request)
    run = {"sqlite": _run_sqlite, "postgresql": _run_postgresql}.get(conn.dialect.name)
    try:
        # A savepoint: an interrupted statement leaves the reader's transaction usable.
        with conn.begin_nested():
            if run is None:
                rows = list(conn.execute(stmt).all())
            else:
                rows = run(conn, stmt, request.budget_s)
    except DBAPIError as exc:
        if not _stopped(exc):
            raise
        log.info("search stopped after %.1f s (its budget)", request.budget_s)
        return SearchAnswer((), stopped=True)
    records = sorted((record(r) for r in rows), key=lambda r: (r.micros, r.id))
    return SearchAnswer(tuple(records))
