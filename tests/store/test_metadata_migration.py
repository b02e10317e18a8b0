"""Migration 0009 (metadata): history, accounts and registrations kept both ways."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store.test_migrations import _OLD_ROWS, _history, _insert_old_rows, _tables

METADATA_TABLES = {"account_metadata", "channel_metadata"}


def test_metadata_migration_keeps_history_accounts_and_registrations(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        _insert_old_rows(conn)
        conn.exec_driver_sql(
            "INSERT INTO accounts (id, key, name, registered) VALUES (7, 'alice', 'Alice', 1)")
        conn.exec_driver_sql(
            "INSERT INTO channel_registrations (key, name, founder_id, registered, registered_by)"
            " VALUES ('#kept', '#Kept', 7, 9, 'Alice!a@h')")
        conn.exec_driver_sql(
            "INSERT INTO read_markers (account_id, target_key, time) VALUES (7, '#kept', 42)")
    migrate.upgrade(engine, "0009")
    assert migrate.current_revision(engine) == "0009"
    assert METADATA_TABLES <= _tables(engine)
    assert _history(engine) == _OLD_ROWS
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO account_metadata (account_id, key, value) VALUES (7, 'avatar', 'a')")
        conn.exec_driver_sql(
            "INSERT INTO channel_metadata (channel_key, key, value) VALUES ('#kept', 'url', 'u')")
        # One value per owner and key.
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.exec_driver_sql("INSERT INTO account_metadata (account_id, key, value)"
                                     " VALUES (7, 'avatar', 'b')")
        # Only a registered channel has stored keys.
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.exec_driver_sql("INSERT INTO channel_metadata (channel_key, key, value)"
                                     " VALUES ('#nobody', 'url', 'u')")
    migrate.downgrade(engine, "0008")
    assert migrate.current_revision(engine) == "0008"
    assert not METADATA_TABLES & _tables(engine)
    assert _history(engine) == _OLD_ROWS
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM accounts").scalars().all() == ["Alice"]
        assert conn.exec_driver_sql(
            "SELECT founder_id FROM channel_registrations").scalars().all() == [7]
        assert conn.exec_driver_sql("SELECT time FROM read_markers").scalars().all() == [42]
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM account_metadata").scalar() == 0
    engine.dispose()
