"""Migration 0007, the search index: built over the history already stored, kept by every
later insert, delete and edit, and dropped again without touching a line; on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from ircish.store import migrate
from ircish.store.database import open_engine

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
            "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_history_search'").scalars())


def _expected_objects(engine: Engine) -> set[str]:
    if engine.dialect.name == "sqlite":
        return {"history_fts", "history_fts_data", "history_fts_idx", "history_fts_config",
                "history_fts_insert", "history_fts_delete", "history_fts_update"}
    return {"ix_history_search"}


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
    assert _index_objects(engine) == _expected_objects(engine)
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
