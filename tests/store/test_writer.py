"""The one writer: group commit, retries, overflow, shutdown flush."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine, func, select

from ircish.core.chathistory import Viewer
from ircish.store.reader import HistoryReader
from ircish.store.schema import history
from ircish.store.writer import HistoryWriter

from .helpers import Reads, chan_state, join, msg


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(history)).scalar_one()


async def test_everything_queued_goes_in_one_transaction(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    for i in range(500):
        writer.submit(msg(f"line {i}"))
    assert writer.backlog == 500
    assert await writer.flush()
    assert writer.stats.batches == 1
    assert writer.stats.written == 500
    assert count(engine) == 500


async def test_running_writer_batches_by_interval(engine: Engine) -> None:
    writer = HistoryWriter(engine, flush_interval_ms=50)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        began = trio.current_time()
        for burst in range(10):
            for i in range(100):
                writer.submit(msg(f"{burst}.{i}"))
            await trio.sleep(0.01)
        with trio.fail_after(30):
            while writer.backlog:
                await trio.sleep(0.01)
        took = trio.current_time() - began
        nursery.cancel_scope.cancel()
    assert count(engine) == 1000
    # 10 bursts 10 ms apart with a 50 ms interval: a few commits, not 1000. Commits
    # start an interval apart at the least, so however long a loaded machine took, no
    # more than one per interval (a fixed "<= 6" failed when the bursts spread out).
    assert writer.stats.batches <= 1 + int(took / 0.05)


async def test_cancelled_writer_flushes_its_backlog(engine: Engine) -> None:
    writer = HistoryWriter(engine, flush_interval_ms=10_000)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.submit(msg("first"))  # committed at once: nothing before it
        with trio.fail_after(30):
            while writer.backlog:
                await trio.sleep(0.01)
        for i in range(50):
            writer.submit(msg(f"waiting {i}"))  # would wait 10 s for the next commit
        await trio.sleep(0.05)
        assert writer.backlog == 50
        nursery.cancel_scope.cancel()
    assert writer.backlog == 0
    assert count(engine) == 51


async def test_flush_works_inside_a_shielded_scope_after_cancel(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    with trio.CancelScope() as scope:
        scope.cancel()
        writer.submit(msg("late"))
        with trio.CancelScope(shield=True):
            assert await writer.flush()
    assert count(engine) == 1


@pytest.mark.sqlite_only
async def test_locked_database_is_retried_and_logged_once(
    engine: Engine, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ircish.store.writer")
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock
    writer = HistoryWriter(engine, flush_interval_ms=10, retry_initial_s=0.02, retry_max_s=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(100):
            writer.submit(msg(f"while locked {i}"))
        with trio.fail_after(5):
            while writer.stats.failed_commits < 3:
                await trio.sleep(0.02)
        # Chat goes on: more lines are accepted while the database is locked.
        for i in range(20):
            writer.submit(msg(f"still locked {i}"))
        assert count(engine) == 0
        blocker.execute("COMMIT")
        with trio.fail_after(5):
            while writer.backlog:
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    blocker.close()
    assert count(engine) == 120
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "database is locked" in errors[0].getMessage()
    assert any("writable again" in r.getMessage() for r in caplog.records)


async def test_queue_overflow_is_logged_with_the_count(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    writer = HistoryWriter(engine, queue_limit=10)
    for i in range(15):
        writer.submit(msg(f"{i}"))
    assert writer.backlog == 10
    assert writer.stats.dropped_overflow == 5
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(full) == 1
    assert await writer.flush()
    assert any("5 events were dropped" in r.getMessage() for r in caplog.records)
    assert count(engine) == 10


async def test_a_retried_batch_never_duplicates(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    line = msg("once", msgid="same")
    writer.submit(line)
    await writer.flush()
    writer.submit(line)
    writer.submit(replace(line, text="other text, same msgid"))
    await writer.flush()
    assert count(engine) == 1


async def test_a_rejected_event_is_dropped_alone(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("good 1"))
    writer.submit(replace(msg("bad"), text=None))  # type: ignore[arg-type]
    writer.submit(msg("good 2"))
    await writer.flush()
    assert count(engine) == 2
    assert writer.stats.dropped_rejected == 1
    assert any("dropped an event" in r.getMessage() for r in caplog.records)


async def test_which_events_are_stored_is_configurable(engine: Engine) -> None:
    writer = HistoryWriter(engine, store_events=frozenset())
    writer.submit(join("bob"))
    writer.submit(msg("kept"))
    writer.submit(msg("", command="TAGMSG", tags={"+draft/react": "x"}))
    await writer.flush()
    assert count(engine) == 1
    everything = HistoryWriter(engine)
    everything.submit(join("bob"))
    everything.submit(msg("", command="TAGMSG", tags={"+draft/react": "x"}))
    everything.submit(msg("", command="TAGMSG", tags={"+typing": "active"}))  # never stored
    await everything.flush()
    assert count(engine) == 3


async def test_persistent_channel_state_round_trips(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    reader = HistoryReader(engine)
    writer.submit(chan_state("#Keep", topic="old"))
    writer.submit(chan_state("#Keep", topic="new"))  # the last state wins
    writer.submit(chan_state("#other"))
    await writer.flush()
    states = {s.name: s for s in await reader.load_channels()}
    keep = states["#Keep"]
    assert keep.topic == "new"
    assert (keep.modes, keep.key, keep.limit) == ("+ntP", "sekrit", 20)
    assert [b.mask for b in keep.bans] == ["*!*@bad", "x!*@*"]
    writer.submit(chan_state("#keep", persistent=False))  # -P: forgotten, bans too
    await writer.flush()
    assert [s.name for s in await reader.load_channels()] == ["#other"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM channel_bans").scalar() == 2


async def test_private_messages_are_readable_by_both_parties(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    a, b = {"session": "s-a", "recipient_session": "s-b"}, {"session": "s-b",
                                                            "recipient_session": "s-a"}
    writer.submit(msg("hi bob", nick="Alice", target="Bob", **a))
    writer.submit(msg("hi alice", nick="bob", target="alice", **b))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    alice, bob = Viewer("alice", None, "s-a"), Viewer("BOB", None, "s-b")
    for viewer, target in ((alice, "bob"), (bob, "ALICE")):
        lines = await reader.latest(target, viewer, 10)
        assert [r.text for r in lines] == ["hi bob", "hi alice"]


async def test_flush_does_not_wait_for_lines_that_arrive_after_it(engine: Engine) -> None:
    writer = HistoryWriter(engine, flush_interval_ms=20)

    async def chatter() -> None:
        while True:
            for _ in range(50):
                writer.submit(msg("busy"))
            await trio.sleep(0.005)

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        nursery.start_soon(chatter)
        await trio.sleep(0.1)
        writer.submit(msg("mine", msgid="mine"))
        # Generous for a loaded machine; a flush that waited for the chatter after it
        # would never end.
        with trio.fail_after(20):
            assert await writer.flush()
        reader = Reads(HistoryReader(engine))
        assert await reader.by_msgid("#chan", Viewer("x"), "mine") is not None
        nursery.cancel_scope.cancel()


@pytest.mark.sqlite_only
async def test_a_full_database_is_retried_until_there_is_room(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import event

    writer = HistoryWriter(engine, retry_initial_s=0.02, retry_max_s=0.05)
    writer.submit(msg("fits"))
    await writer.flush()
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    limit = [pages]  # no page may be added: the disk is "full"

    @event.listens_for(engine, "checkout")
    def _cap(dbapi_conn, _rec, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit[0]}")

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(2000):
            writer.submit(msg(f"does not fit {i} " + "x" * 200))
        with trio.fail_after(5):
            while writer.stats.failed_commits < 2:
                await trio.sleep(0.01)
        limit[0] = 1_000_000  # room again
        with trio.fail_after(5):
            while writer.backlog:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert count(engine) == 2001
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "full" in errors[0]


async def test_a_value_sqlite_cannot_bind_does_not_block_the_queue(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("good 1"))
    writer.submit(replace(msg("bad"), text={"not": "text"}))  # type: ignore[arg-type]
    writer.submit(replace(msg("bad time"), micros=["noon"]))  # type: ignore[arg-type]
    writer.submit(msg("good 2"))
    with trio.fail_after(5):
        assert await writer.flush()
    assert count(engine) == 2
    assert writer.stats.dropped_rejected == 2


@pytest.mark.sqlite_only
async def test_a_deleted_database_is_noticed_and_a_restored_one_is_used(
    engine: Engine, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ircish.store.backup import backup

    writer = HistoryWriter(engine, retry_initial_s=0.02, retry_max_s=0.05)
    writer.submit(msg("before"))
    await writer.flush()
    saved = backup(engine, tmp_path / "saved.db")
    db = Path(db_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.submit(msg("while gone"))
        with trio.fail_after(5):
            while writer.stats.failed_commits < 3:
                await trio.sleep(0.01)
        assert writer.backlog == 1  # kept, not written into a deleted file
        saved.rename(db)  # the operator restores the backup
        with trio.fail_after(5):
            while writer.backlog:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    with engine.connect() as conn:
        texts = conn.exec_driver_sql("SELECT text FROM history ORDER BY id").scalars().all()
    assert texts == ["before", "while gone"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "is gone" in errors[0]
