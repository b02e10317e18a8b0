"""Migrations 0007, 0010 and 0013, the search index: built over the history already stored, kept
by every later insert, delete and edit, and dropped again without touching a line; on SQLite and
PostgreSQL. 0010 moves PostgreSQL's index onto a stored column the planner has statistics for;
0013 indexes each line's place beside its words."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from ircish.core.chathistory import Viewer
from ircish.search.request import SearchRequest
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.search import _statement

_ROWS = [
    # (id, target_key, msgid, time, kind, source, target, text)
    (1, "#chan", "c1", 10, "PRIVMSG", "alice!a@h", "#chan", "the blue harbour at dawn"),
    (2, "#chan", "c2", 20, "NOTICE", "bob!b@h", "#chan", "Harbour closed today"),
    (3, "#chan", "j1", 30, "JOIN", "carol!c@h", "#chan", "harbour realname"),
    (4, "#chan", "t1", 40, "TOPIC", "carol!c@h", "#chan", "harbour topic"),
]


def _insert(conn: Connection, rows: list[tuple[object, ...]]) -> None:
    names = ("id", "target_key", "msgid", "time", "kind", "source", "target", "text")
    conn.execute(
        text(f"INSERT INTO history ({', '.join(names)}) VALUES "
             f"({', '.join(':' + n for n in names)})"),
        [dict(zip(names, row, strict=True)) for row in rows],
    )


def _found(engine: Engine, word: str) -> list[int]:
    """The ids the index (and only the index) finds for one word."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT rowid FROM history_fts WHERE history_fts MATCH :q ORDER BY rowid"
            return list(conn.execute(text(sql), {"q": f'"{word}"'}).scalars())
        sql = ("SELECT id FROM history WHERE kind IN ('PRIVMSG', 'NOTICE')"
               " AND to_tsvector('simple'::regconfig, text) @@ plainto_tsquery('simple', :q)"
               " ORDER BY id")
        return list(conn.execute(text(sql), {"q": word}).scalars())


def _index_objects(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return set(conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name LIKE 'history_fts%'").scalars())
        return set(conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_history_search%%'"
        ).scalars()) | set(conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'history' AND column_name = 'search_vector'").scalars())


def _expected_objects(engine: Engine, revision: str = "head") -> set[str]:
    if engine.dialect.name == "sqlite":
        return {"history_fts", "history_fts_data", "history_fts_idx", "history_fts_config",
                "history_fts_insert", "history_fts_delete", "history_fts_update"}
    if revision in ("0007", "0008", "0009"):
        return {"ix_history_search"}
    if revision in ("0010", "0011", "0012"):
        return {"ix_history_search_vector", "search_vector"}
    return {"ix_history_search_places", "search_vector"}


def _history(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT id, target_key, msgid, time, kind, source, target, text"
            " FROM history ORDER BY id")]


def test_search_index_upgrade_and_downgrade_keep_the_history(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0006")
    with engine.begin() as conn:
        _insert(conn, _ROWS)
    migrate.upgrade(engine, "0007")
    assert _index_objects(engine) == _expected_objects(engine, "0007")
    # The lines already there are indexed; joins and topics are not messages.
    assert _found(engine, "harbour") == [1, 2]
    assert _found(engine, "HARBOUR") == [1, 2]
    assert _history(engine) == _ROWS

    # Every later write keeps it: an insert, a delete (retention, REDACT), an edit.
    with engine.begin() as conn:
        _insert(conn, [(5, "#chan", "c5", 50, "PRIVMSG", "dave!d@h", "#chan", "a harbour seal"),
                       (6, "#chan", "c6", 60, "KICK", "dave!d@h", "#chan", "harbour kick")])
        conn.exec_driver_sql("DELETE FROM history WHERE id = 1")
        conn.exec_driver_sql("UPDATE history SET text = 'the quay is closed' WHERE id = 2")
    assert _found(engine, "harbour") == [5]
    assert _found(engine, "quay") == [2]
    assert _found(engine, "dawn") == []

    migrate.downgrade(engine, "0006")
    assert migrate.current_revision(engine) == "0006"
    assert _index_objects(engine) == set()
    assert [r[0] for r in _history(engine)] == [2, 3, 4, 5, 6]
    assert "history" in inspect(engine).get_table_names()
    # Writes go on without the index, and the next upgrade indexes them too.
    with engine.begin() as conn:
        _insert(conn, [(7, "#chan", "c7", 70, "PRIVMSG", "erin!e@h", "#chan", "harbour lights")])
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    assert _index_objects(engine) == _expected_objects(engine)
    assert _found(engine, "harbour") == [5, 7]
    engine.dispose()


def test_the_search_index_and_its_triggers_exist_at_head(engine: Engine) -> None:
    # A later migration that recreates the history table must keep them.
    assert _index_objects(engine) == _expected_objects(engine)


def _found_by_column(engine: Engine, word: str) -> list[int]:
    """The ids 0010's column finds for one word (PostgreSQL)."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id FROM history WHERE kind IN ('PRIVMSG', 'NOTICE')"
            " AND search_vector @@ plainto_tsquery('simple', :q) ORDER BY id"), {"q": word}
        ).scalars())


def test_search_vector_upgrade_and_downgrade_keep_the_history(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0009")
    with engine.begin() as conn:
        _insert(conn, _ROWS)
    migrate.upgrade(engine, "0010")
    assert _index_objects(engine) == _expected_objects(engine, "0010")
    assert _history(engine) == _ROWS
    assert _found(engine, "harbour") == [1, 2]
    if engine.dialect.name == "postgresql":
        assert _found_by_column(engine, "HARBOUR") == [1, 2]
        with engine.connect() as conn:
            vectors = dict(conn.exec_driver_sql(
                "SELECT id, search_vector IS NOT NULL FROM history").all())
            # The upgrade ran ANALYZE: the column has statistics from the start.
            analysed = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'history'"
                " AND attname = 'search_vector'").scalar()
        assert vectors == {1: True, 2: True, 3: False, 4: False}
        assert analysed == 1
    # Every later write keeps the index (the column on PostgreSQL).
    with engine.begin() as conn:
        _insert(conn, [(5, "#chan", "c5", 50, "PRIVMSG", "dave!d@h", "#chan", "harbour seal"),
                       (6, "#chan", "c6", 60, "KICK", "dave!d@h", "#chan", "harbour kick")])
        conn.exec_driver_sql("DELETE FROM history WHERE id = 1")
        conn.exec_driver_sql("UPDATE history SET text = 'the quay is closed' WHERE id = 2")
    assert _found(engine, "harbour") == [5]
    if engine.dialect.name == "postgresql":
        assert _found_by_column(engine, "harbour") == [5]
        assert _found_by_column(engine, "quay") == [2]
    before = _history(engine)

    migrate.downgrade(engine, "0009")
    assert migrate.current_revision(engine) == "0009"
    assert _index_objects(engine) == _expected_objects(engine, "0009")
    assert _history(engine) == before
    assert _found(engine, "harbour") == [5]
    migrate.upgrade(engine)
    assert _index_objects(engine) == _expected_objects(engine)
    assert _history(engine) == before
    engine.dispose()


def _plan(conn: Connection, sql: str, **params: object) -> dict[str, object]:
    explained = conn.execute(text("EXPLAIN (FORMAT JSON) " + sql), params).scalar_one()
    plan = explained if isinstance(explained, list) else json.loads(explained)
    return plan[0]["Plan"]  # type: ignore[no-any-return]


@pytest.mark.postgresql_only
def test_the_planner_tells_a_common_word_from_a_rare_one(engine: Engine) -> None:
    # 0007's partial expression index had no statistics the planner uses: it guessed the
    # same few rows for every word, and read all matches of two common words to sort them.
    rows = [(i, "#chan", f"m{i}", i, "PRIVMSG", "a!a@h", "#chan",
             "common words here" + (" rare" if i == 1 else "")) for i in range(1, 3001)]
    with engine.begin() as conn:
        _insert(conn, rows)
        conn.exec_driver_sql("ANALYZE history")
    sql = ("SELECT id FROM history WHERE kind IN ('PRIVMSG', 'NOTICE')"
           " AND search_vector @@ to_tsquery('simple', :q)")
    with engine.connect() as conn:
        common = _plan(conn, sql, q="common")["Plan Rows"]
        rare = _plan(conn, sql, q="rare")["Plan Rows"]
        # And the store's own query reads the column, not 0007's expression.
        stmt = _statement(conn, SearchRequest(
            channels=(("#chan", None),), viewer=Viewer("someone"),
            phrases=(("common",), ("words",)), limit=50))
        compiled = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        store_plan = json.dumps(_plan(conn, compiled))
    assert isinstance(common, int) and isinstance(rare, int)
    assert common > 2000 and rare < 100
    assert "search_vector" in store_plan
    assert "to_tsvector('simple'::regconfig, text)" not in store_plan


def _found_in(engine: Engine, word: str, key: str) -> list[int]:
    """The ids 0013's index finds for one word in one place (PostgreSQL)."""
    from ircish.store.search import PG_PLACE, place_lexeme

    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id FROM history WHERE search_vector @@ plainto_tsquery('simple', :q)"
            f" AND {PG_PLACE} @@ CAST(:place AS tsquery) ORDER BY id"),
            {"q": word, "place": place_lexeme(key)}).scalars())


def test_search_places_upgrade_and_downgrade_keep_the_history(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0012")
    rows = [*_ROWS, (5, "#other", "o1", 50, "PRIVMSG", "erin!e@h", "#other", "harbour ferry")]
    with engine.begin() as conn:
        _insert(conn, rows)
    migrate.upgrade(engine, "0013")
    assert _index_objects(engine) == _expected_objects(engine, "0013")
    assert _history(engine) == rows
    assert _found(engine, "harbour") == [1, 2, 5]
    if engine.dialect.name == "postgresql":
        assert _found_in(engine, "harbour", "#chan") == [1, 2]
        assert _found_in(engine, "harbour", "#other") == [5]
        with engine.connect() as conn:
            # Not partial, and analysed: the planner has the expression's statistics.
            analysed = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'ix_history_search_places'"
            ).scalar()
        assert analysed == 1
        # Every later write keeps it.
        with engine.begin() as conn:
            _insert(conn, [(6, "#other", "o2", 60, "NOTICE", "erin!e@h", "#other", "harbour")])
            conn.exec_driver_sql("UPDATE history SET text = 'the quay' WHERE id = 5")
        assert _found_in(engine, "harbour", "#other") == [6]
        assert _found_in(engine, "quay", "#other") == [5]
    before = _history(engine)

    migrate.downgrade(engine, "0012")
    assert _index_objects(engine) == _expected_objects(engine, "0012")
    assert _history(engine) == before
    if engine.dialect.name == "postgresql":
        assert _found_by_column(engine, "harbour") == [1, 2, 6]
    migrate.upgrade(engine)
    assert _index_objects(engine) == _expected_objects(engine)
    assert _history(engine) == before
    engine.dispose()


@pytest.mark.postgresql_only
def test_a_search_in_some_channels_reads_only_their_matches(engine: Engine) -> None:
    # 0010's index held the words only: the plan added every line of the channels asked
    # (their btree index) to the bitmap, or fetched every match to look at its channel.
    # 0013's index answers words and places in one scan.
    rows = [(i, f"#c{i % 20}", f"m{i}", i, "PRIVMSG", "a!a@h", f"#c{i % 20}",
             "filler words here" + (" rare" if i % 97 == 0 else "")
             + (" odd" if i % 89 == 0 else "")) for i in range(1, 20_001)]
    with engine.begin() as conn:
        _insert(conn, rows)
        conn.exec_driver_sql("ANALYZE history")
    request = SearchRequest(channels=tuple((f"#c{c}", None) for c in range(3)),
                            viewer=Viewer("someone"), phrases=(("rare",), ("odd",)), limit=50)
    with engine.connect() as conn:
        # As a search plans: its own settings (store/search.py).
        conn.exec_driver_sql("SET random_page_cost = 1.1")
        compiled = str(_statement(conn, request).compile(
            conn, compile_kwargs={"literal_binds": True}))
        plan = _plan(conn, compiled)

    def nodes(node: dict[str, object]) -> list[dict[str, object]]:
        below = node.get("Plans", [])
        assert isinstance(below, list)
        return [node, *(n for child in below for n in nodes(child))]

    scans = [n for n in nodes(plan) if n.get("Index Name") == "ix_history_search_places"]
    # One scan of the one index, asked for the words and the places together.
    assert len(scans) == 1
    assert "array_to_tsvector" in str(scans[0]["Index Cond"])
    assert "search_vector @@" in str(scans[0]["Index Cond"])
    text_plan = json.dumps(plan)
    assert "uq_history_target_key_msgid" not in text_plan
    assert "ix_history_target_time" not in text_plan
