"""Search across history (soju.im/search), the worker's side: the index's names and the query.

The index lives outside the models (``schema``), so autogenerate and ``alembic check``
are told to leave it alone (``include_name``). SQLite: migration 0007's external-content
FTS5 table ``history_fts`` kept by triggers on ``history``. PostgreSQL: migration 0010's
stored generated column ``history.search_vector`` (``to_tsvector('simple', text)`` of
PRIVMSG and NOTICE lines) and migration 0013's GIN index on that vector and a lexeme
for each line's place (``PG_PLACE``); the column and the expression of an index that is
not partial have statistics, so the planner knows a common word from a rare one.
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
    String,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.exc import DBAPIError, OperationalError

from ircish.search.request import SearchAnswer, SearchRequest
from ircish.store.keys import channel_key
from ircish.store.queries import _COLUMNS as COLUMNS
from ircish.store.queries import _record as record
from ircish.store.queries import all_private_rows, private_rows
from ircish.store.schema import history

log = logging.getLogger("ircish.store.search")

FTS_TABLE = "history_fts"
PG_INDEX = "ix_history_search_places"
PG_COLUMN = "search_vector"
# Migration 0013's GIN index has two columns: the stored vector of the text (0010; NULL
# for kinds other than PRIVMSG and NOTICE) and this one-lexeme vector of the line's place,
# its target key after a space. No word of a text holds a space (the parser splits
# there), so that lexeme is only ever the place.
PG_PLACE = "array_to_tsvector(ARRAY[' ' || history.target_key])"
_PG_VECTOR = f"history.{PG_COLUMN}"
# The indexes it replaces: 0007's expression index (revisions 0007-0009) and 0010's on
# the column alone (0010-0012).
_PG_OLD_INDEXES = ("ix_history_search", "ix_history_search_vector")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: False for the search index's tables, column and index."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == PG_COLUMN:
        return parent_names.get("table_name") != history.name
    return not (type_ == "index" and name in (PG_INDEX, *_PG_OLD_INDEXES))


# ---- the query --------------------------------------------------------------------

_KINDS_SQL = "history.kind IN ('PRIVMSG', 'NOTICE')"
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
    return [text(_KINDS_SQL), _scope(request), *_bounds(request)]


def _bounds(request: SearchRequest) -> list[ColumnElement[bool]]:
    """The asker's own narrowing: the time bounds and the sender."""
    conds: list[ColumnElement[bool]] = []
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


# ---- PostgreSQL: the words and the places in one index scan -------------------------


def place_lexeme(key: str) -> str:
    """The lexeme naming a line's place in ``PG_PLACE`` (a space, then the target key),
    as tsquery input: quoted, with its quotes and backslashes escaped, so nothing in a
    channel's name is ever an operator."""
    return "' " + key.replace("\\", "\\\\").replace("'", "''") + "'"


def _channel_epochs(request: SearchRequest) -> dict[str, int | None]:
    """Each channel key asked once, from the oldest epoch it was asked with (None: all
    of it), which is what ``_scope``'s OR of the same key's entries means."""
    keys: dict[str, int | None] = {}
    for name, since in request.channels:
        key = channel_key(name)
        if key in keys:
            old = keys[key]
            keys[key] = None if old is None or since is None else min(old, since)
        else:
            keys[key] = since
    return keys


def _in_channels(keys: dict[str, int | None]) -> ColumnElement[bool]:
    conds = [
        history.c.target_key == key if since is None
        else and_(history.c.target_key == key, history.c.time >= since)
        for key, since in keys.items()
    ]
    return or_(*conds) if conds else false()


def _pg_words(request: SearchRequest) -> ColumnElement[Any]:
    query: ColumnElement[Any] | None = None
    for phrase in request.phrases:
        part = func.phraseto_tsquery(literal_column("'simple'::regconfig"), " ".join(phrase))
        query = part if query is None else query.op("&&")(part)
    assert query is not None
    return query


def _pg_statement(request: SearchRequest, oldest_first: bool) -> Select[Any]:
    """The asker's channels and its private lines as two parts, each its own newest
    ``limit`` (the planner chooses each part's plan), merged newest first.

    The channels' part asks the index's first column for the words and its second for
    any of the channels' place lexemes: GIN walks the two together and hands out only
    the matches in those channels, one scan whatever the channels. (With the places
    and the words in one tsquery, GIN would drive the scan by the rarest postings, the
    channels', and test every line of every channel; the channels' btree index would
    add all their lines to the bitmap; a scan per channel would read the words'
    postings each time.) The private part is the asker's few conversations (its
    session and account indexes). The two are disjoint, so the merge repeats nothing:
    the result is ``_scope``'s, line for line.
    """
    words = _pg_words(request)
    vector = literal_column(_PG_VECTOR)
    rest = [text(_KINDS_SQL), *_bounds(request)]
    order = history.c.id if oldest_first else history.c.id.desc()
    keys = _channel_epochs(request)
    parts: list[Select[Any]] = []
    if keys:
        places = cast(
            bindparam("places", " | ".join(place_lexeme(k) for k in keys), String), TSQUERY)
        # An epoch is a filter on the few lines found, never a second index.
        epochs = [
            or_(history.c.target_key != key, history.c.time >= since)
            for key, since in keys.items() if since is not None
        ]
        parts.append(select(*COLUMNS).where(
            vector.op("@@")(words), literal_column(PG_PLACE).op("@@")(places), *epochs, *rest))
    private: ColumnElement[bool] | None = None
    if request.private_with is not None:
        private = private_rows(request.viewer, request.private_with)
    elif request.private:
        private = all_private_rows(request.viewer)
    if private is not None:
        # The function, not the operator, so the index is not asked: the asker's own
        # conversations (their session and account indexes) are few, and checking their
        # lines one by one costs less than the index's postings of common words.
        parts.append(select(*COLUMNS).where(
            func.ts_match_vq(vector, words), private, not_(_in_channels(keys)), *rest))
    if not parts:
        return select(*COLUMNS).where(false()).limit(request.limit)
    if len(parts) == 1:
        return parts[0].order_by(order).limit(request.limit)
    # Each part ordered and limited inside, so each is planned for its own newest lines
    # and the Merge Append reads only as far into each as the merged limit needs.
    both = union_all(*(p.order_by(order).limit(request.limit) for p in parts)).subquery()
    merged = both.c.id if oldest_first else both.c.id.desc()
    return select(both).order_by(merged).limit(request.limit)


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
        return _pg_statement(request, oldest_first)
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


# What a search sets for its own statement, each for a reason:
# - statement_timeout: the budget.
# - max_parallel_workers_per_gather 0: one core per search; for common words the plan
#   walks the newest ids back, and parallel workers there cost more to start and merge
#   than they save (measured on a busy machine: 105 -> 42 ms and 194 -> 77 ms,
#   benchmarks/RESULTS.md "Search").
# - plan_cache_mode force_custom_plan: psycopg prepares a statement it has run five times,
#   and PostgreSQL then plans it once for any words; the right plan depends on how common
#   these words are (a walk back over the newest lines, or the index), and a plan chosen
#   for other words took 0.5 s where this one's own takes 5 ms.
# - jit off: a search's plan can cost enough to be compiled, which takes longer (~100 ms)
#   than the search.
# - random_page_cost 1.1: the plans weighed are a walk back over the newest lines (pages
#   in order) and a fetch of the index's matches (pages apart). The default 4 prices a
#   page apart as a disk seek, which a history in memory or on an SSD does not pay, and
#   took the walk where fetching the matches took a third of its time (RESULTS.md).
_PG_SETTINGS = ("statement_timeout", "max_parallel_workers_per_gather", "plan_cache_mode",
                "jit", "random_page_cost")


def _run_postgresql(conn: Connection, stmt: Select[Any], budget_s: float) -> list[Row[Any]]:
    conn.exec_driver_sql(
        "SELECT set_config('statement_timeout', %(ms)s, true),"
        " set_config('max_parallel_workers_per_gather', '0', true),"
        " set_config('plan_cache_mode', 'force_custom_plan', true),"
        " set_config('jit', 'off', true),"
        " set_config('random_page_cost', '1.1', true)",
        {"ms": str(max(1, int(budget_s * 1000)))},
    )
    rows = list(conn.execute(stmt).all())
    # A released savepoint keeps SET LOCAL to the end of the reader's transaction (only
    # a rolled-back one, after an interruption, undoes it): later queries there must not
    # inherit the search's settings. One round trip (no parameters: the simple protocol).
    conn.exec_driver_sql("; ".join(f"SET LOCAL {name} = DEFAULT" for name in _PG_SETTINGS))
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
