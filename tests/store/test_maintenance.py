"""Engine setup, backups of a live database, and retention."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine, func, select

from ircish.store.backup import BackupError, backup
from ircish.store.cli import main as db_main
from ircish.store.database import resolve_url
from ircish.store.retention import MICROS_PER_DAY, purge_expired, run_retention
from ircish.store.schema import conversations, history
from ircish.store.writer import HistoryWriter

from .helpers import at, msg
from .test_writer import count


def test_relative_sqlite_paths_follow_the_config_file(tmp_path: Path) -> None:
    url = resolve_url("sqlite:///data/ircish.db", tmp_path)
    assert url.database == str(tmp_path / "data" / "ircish.db")
    assert resolve_url("sqlite:////abs/x.db", tmp_path).database == "/abs/x.db"
    assert resolve_url("sqlite://", tmp_path).database is None
    assert resolve_url("postgresql://u@h/db", tmp_path).database == "db"


@pytest.mark.sqlite_only
def test_every_connection_gets_the_pragmas(engine: Engine) -> None:
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    # synchronous=1 is NORMAL.
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 200,
        "synchronous": 1,
    }


@pytest.mark.sqlite_only
async def test_backup_of_a_live_database(engine: Engine, tmp_path: Path) -> None:
    writer = HistoryWriter(engine, flush_interval_ms=1)
    for i in range(2000):
        writer.submit(msg(f"before {i}"))
    await writer.flush()
    dest = tmp_path / "copy.db"
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)

        async def back_up() -> None:
            await trio.sleep(0.02)
            await trio.to_thread.run_sync(backup, engine, dest)

        async with trio.open_nursery() as inner:
            inner.start_soon(back_up)
            for i in range(200):  # the server keeps writing during the backup
                writer.submit(msg(f"during {i}"))
                await trio.sleep(0.001)
        await writer.flush()
        nursery.cancel_scope.cancel()
    copy = sqlite3.connect(dest)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = copy.execute("SELECT count(*) FROM history").fetchone()[0]
        # A snapshot: everything from before, some of what came during.
        assert 2000 <= copied <= 2200
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        copy.close()
    assert count(engine) == 2200
    with pytest.raises(BackupError, match="already exists"):
        backup(engine, dest)


def test_backup_cli(engine: Engine, db_url: str, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    dest = tmp_path / "cli-copy.db"
    assert db_main(["backup", str(dest)], db_url, tmp_path, out=out, err=err) == 0
    assert dest.exists() and "backup written" in out.getvalue()
    assert db_main(["backup", str(dest)], db_url, tmp_path, out=out, err=err) == 1
    assert "already exists" in err.getvalue()


async def test_retention_deletes_in_small_batches(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    for i in range(25):
        writer.submit(msg(f"old {i}", when=at(i)))
    writer.submit(msg("old dm", nick="a", target="b", when=at(30)))
    for i in range(5):
        writer.submit(msg(f"new {i}", when=at(MICROS_PER_DAY * 10 + i)))
    await writer.flush()
    batches: list[int] = []
    real = purge_expired.__globals__["delete_expired_batch"]

    def spy(engine: Engine, cutoff: int, batch_size: int) -> int:
        batches.append(n := real(engine, cutoff, batch_size))
        return n

    cutoff = (at(MICROS_PER_DAY * 5)).timestamp() * 1_000_000
    mp = pytest.MonkeyPatch()
    mp.setitem(purge_expired.__globals__, "delete_expired_batch", spy)
    try:
        deleted = await purge_expired(engine, int(cutoff), batch_size=10)
    finally:
        mp.undo()
    assert deleted == 26
    assert batches == [10, 10, 6]
    with engine.connect() as conn:
        texts = conn.execute(select(history.c.text).order_by(history.c.id)).scalars().all()
        assert texts == [f"new {i}" for i in range(5)]
        assert conn.execute(select(func.count()).select_from(conversations)).scalar() == 0


async def test_retention_job_runs_periodically(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    now = [at(MICROS_PER_DAY * 3)]
    writer.submit(msg("two days old", when=at(MICROS_PER_DAY)))
    writer.submit(msg("fresh", when=now[0]))
    await writer.flush()

    def now_micros() -> int:
        return int(now[0].timestamp() * 1_000_000)

    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: run_retention(
                engine, 1, interval_s=0.05, now_micros=now_micros, task_status=task_status
            )
        )
        with trio.fail_after(5):
            while count(engine) != 1:
                await trio.sleep(0.01)
        now[0] = at(MICROS_PER_DAY * 5)  # two days later, the next pass expires "fresh"
        with trio.fail_after(5):
            while count(engine) != 0:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()


async def test_retention_zero_keeps_everything(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("ancient", when=at(0)))
    await writer.flush()
    with trio.fail_after(1):
        await run_retention(engine, 0)
    assert count(engine) == 1
