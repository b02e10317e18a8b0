"""PostgreSQL's failures are told apart as SQLite's are: the server failing is an outage
(lines kept and retried), and a missing driver is a config error that names the package."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
import trio
from sqlalchemy import Engine, create_engine, text

from ircish.store import migrate
from ircish.store.database import StorageConfigError, open_engine
from ircish.store.writer import HistoryWriter

from . import postgres
from .helpers import msg
from .test_writer import count


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with postgres.fresh_database() as url:
        engine = open_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


def _read_only(engine: Engine, on: bool) -> None:
    admin = create_engine(postgres.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(
                f'ALTER DATABASE "{engine.url.database}" SET default_transaction_read_only = '
                f"{'on' if on else 'off'}"))
    finally:
        admin.dispose()
    engine.dispose()  # the setting applies to new sessions


async def test_a_read_only_database_is_an_outage_and_nothing_is_dropped(
    pg_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # What a standby promoted the wrong way round, or an operator's switch, looks like.
    writer = HistoryWriter(pg_engine, retry_initial_s=0.02, retry_max_s=0.05)
    _read_only(pg_engine, True)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(5):
            writer.submit(msg(f"while read-only {i}"))
        with trio.fail_after(5):
            while writer.stats.failed_commits < 2:
                await trio.sleep(0.01)
        assert writer.backlog == 5 and writer.stats.dropped_rejected == 0
        _read_only(pg_engine, False)
        with trio.fail_after(5):
            while writer.backlog:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert count(pg_engine) == 5
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "read-only" in errors[0]


def test_a_missing_driver_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if never installed
    with pytest.raises(StorageConfigError, match=r"ircish\[postgres\]"):
        open_engine("postgresql+psycopg://ircish@127.0.0.1/ircish")
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    # Another PostgreSQL driver: the hint says how to name the one ircish brings.
    with pytest.raises(StorageConfigError, match=r"postgresql\+psycopg://"):
        open_engine("postgresql+psycopg2://ircish@127.0.0.1/ircish")
