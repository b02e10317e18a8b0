"""Migration 0008 (the network's tables): history and everything else kept both ways."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store.test_migrations import _OLD_ROWS, _history, _insert_old_rows, _tables

NETWORK_TABLES = {"network_nodes", "network_users", "network_channels", "network_members",
                  "network_events"}


def test_network_migration_keeps_history_and_claims_nicks_once(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0007")
    with engine.begin() as conn:
        _insert_old_rows(conn)
    migrate.upgrade(engine, "0008")
    assert migrate.current_revision(engine) == "0008"
    assert _history(engine) == _OLD_ROWS
    assert NETWORK_TABLES <= _tables(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO network_nodes (node_id, epoch, alive, lease_until, last_seq, started)"
            " VALUES ('n1', 1, 1, 0, 0, 0)")
        conn.exec_driver_sql(
            "INSERT INTO network_users (session, key, nick, node_id, epoch, username, host,"
            " realname, modes, registered, since)"
            " VALUES ('s1', 'alice', 'Alice', 'n1', 1, '', '', '', '', 1, 0)")
        # One holder per casefolded nick: the second claim is refused.
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.exec_driver_sql(
                    "INSERT INTO network_users (session, key, nick, node_id, epoch, username,"
                    " host, realname, modes, registered, since)"
                    " VALUES ('s2', 'alice', 'ALICE', 'n1', 1, '', '', '', '', 1, 0)")
        conn.exec_driver_sql(
            "INSERT INTO network_events (origin, seq, epoch, payload, committed)"
            " VALUES ('n1', 1, 1, '{}', 0)")
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.exec_driver_sql(
                    "INSERT INTO network_events (origin, seq, epoch, payload, committed)"
                    " VALUES ('n1', 1, 1, '{}', 0)")
    migrate.downgrade(engine, "0007")
    assert migrate.current_revision(engine) == "0007"
    assert not NETWORK_TABLES & _tables(engine)
    assert _history(engine) == _OLD_ROWS
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM network_users").scalar() == 0
    engine.dispose()
