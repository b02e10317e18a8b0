"""Migration 0012 (network_positions): a new table only, so history and the network's
rows stay both ways, and a downgrade drops that table and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store.test_migrations import _OLD_ROWS, _history, _insert_old_rows, _tables


def test_network_positions_migration_both_ways(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate.upgrade(engine, "0011")
    with engine.begin() as conn:
        _insert_old_rows(conn)
        conn.exec_driver_sql(
            "INSERT INTO network_events (origin, seq, epoch, payload, committed)"
            " VALUES ('n1', 1, 1, '{}', 0)")
    before = _tables(engine)
    migrate.upgrade(engine, "0012")
    assert _tables(engine) == before | {"network_positions"}
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO network_positions (node_id, origin, seq, updated)"
                             " VALUES ('n2', 'n1', 1, 7)")
        # One position per reader and origin.
        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.exec_driver_sql("INSERT INTO network_positions (node_id, origin, seq,"
                                     " updated) VALUES ('n2', 'n1', 2, 8)")
    migrate.downgrade(engine, "0011")
    assert _tables(engine) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM network_events").scalar() == 1
    assert _history(engine) == _OLD_ROWS
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    engine.dispose()
