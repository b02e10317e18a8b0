"""Migration 0011 (network state for a node that starts later): rows written before it
stay, the new columns have their defaults, and a downgrade drops only them."""

from __future__ import annotations

from sqlalchemy import inspect

from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store.test_migrations import _OLD_ROWS, _history, _insert_old_rows

NEW = {"network_nodes": "server_name", "network_users": "away", "network_channels": "lists"}


def _has(engine, table: str, column: str) -> bool:  # type: ignore[no-untyped-def]
    return column in {c["name"] for c in inspect(engine).get_columns(table)}


def test_network_state_migration_keeps_rows_and_history_both_ways(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0010")
    with engine.begin() as conn:
        _insert_old_rows(conn)
        conn.exec_driver_sql(
            "INSERT INTO network_nodes (node_id, epoch, alive, lease_until, last_seq, started)"
            " VALUES ('n1', 1, 1, 0, 0, 0)")
        conn.exec_driver_sql(
            "INSERT INTO network_users (session, key, nick, node_id, epoch, username, host,"
            " realname, modes, registered, since)"
            " VALUES ('s1', 'alice', 'Alice', 'n1', 1, '', '', '', '', 1, 0)")
        conn.exec_driver_sql(
            "INSERT INTO network_channels (key, name, created, topic, topic_setter,"
            " topic_time, modes) VALUES ('#c', '#c', 5, '', '', 0, 'nt')")
    migrate.upgrade(engine, "0011")
    assert all(_has(engine, table, column) for table, column in NEW.items())
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT n.server_name, u.away, c.lists, c.created FROM network_nodes n,"
            " network_users u, network_channels c").one()
    assert tuple(row) == (None, None, None, 5)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE network_users SET away = 'lunch'")
    migrate.downgrade(engine, "0010")
    assert not any(_has(engine, table, column) for table, column in NEW.items())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT nick FROM network_users").scalar() == "Alice"
    assert _history(engine) == _OLD_ROWS
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    engine.dispose()
