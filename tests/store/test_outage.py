"""A database that stops taking writes after start is one outage, told twice, losing nothing
within the queue limit; a slow writer is not an error.

The outages here are real: a copy of the database with a damaged page is put
where the database was (as an operator restoring the wrong file would), and
the good copy put back later; the writer notices the new file and reconnects.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import trio
from sqlalchemy import Engine

from ircish.history import client as history_client
from ircish.history.client import StoreClient
from ircish.store.backup import backup
from ircish.store.writer import HistoryWriter
from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

from .helpers import msg


def texts(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        # A JOIN row's text is the joiner's realname, not something said.
        return [row[0] for row in
                conn.execute("SELECT text FROM history WHERE kind != 'JOIN' ORDER BY id")]


def damaged_copy(good: Path, dest: Path) -> Path:
    """``good`` with the root page of its history table overwritten: every insert fails."""
    shutil.copy(good, dest)
    with closing(sqlite3.connect(f"{good.as_uri()}?mode=ro", uri=True)) as conn:
        query = "SELECT rootpage FROM sqlite_master WHERE name = 'history'"
        (root,) = conn.execute(query).fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    with dest.open("r+b") as f:
        f.seek(page_size * (root - 1))
        f.write(b"\xa5" * page_size)
    return dest


def swap_in(db: Path, replacement: Path) -> None:
    """Put ``replacement`` where ``db`` is, without the old file's -wal and -shm."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(replacement, db)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.sqlite_only
async def test_a_damaged_page_is_one_outage_and_nothing_is_dropped(
    engine: Engine, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ircish.store")
    db = Path(db_url.removeprefix("sqlite:///"))
    writer = HistoryWriter(engine, retry_initial_s=0.01, retry_max_s=0.02)
    writer.submit(msg("before"))
    assert await writer.flush()
    good = backup(engine, tmp_path / "good.db")
    swap_in(db, damaged_copy(good, tmp_path / "bad.db"))
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(200):
            writer.submit(msg(f"during {i}"))
        with trio.fail_after(5):
            while writer.stats.failed_commits < 5:
                await trio.sleep(0.01)
        assert writer.backlog == 200  # kept, none dropped
        swap_in(db, good)  # the operator restores the backup
        with trio.fail_after(5):
            while writer.backlog:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert texts(db) == ["before"] + [f"during {i}" for i in range(200)]
    assert writer.stats.dropped_rejected == 0
    found = errors(caplog)
    assert len(found) == 1, found
    assert str(db) in found[0] and "database disk image is malformed" in found[0]
    assert "restore a backup made with `ircish-server db backup`" in found[0]
    ended = [r.getMessage() for r in caplog.records if "writable again" in r.getMessage()]
    assert len(ended) == 1 and "200 delayed events written, none lost" in ended[0]
    assert not [r for r in caplog.records if "refuses" in r.getMessage()]


def history_config(**storage: object) -> dict[str, object]:
    from ircish.passwords import hash_password

    return {
        "storage": {"url": "sqlite:///history.db", "flush_interval_ms": 20, **storage},
        "history": {"replay_on_join": 5},
        "limits": {"flood_burst": 1000},
        "opers": [{"name": "admin", "password_hash": hash_password("pw")}],
    }


def is_notice(text: str):  # type: ignore[no-untyped-def]
    return lambda m: m.command == "NOTICE" and text in m.params[-1]


async def test_the_worker_reports_an_outage_once_and_tells_the_operators(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from ircish.store.database import open_engine

    caplog.set_level(logging.INFO, logger="ircish.store")
    db = tmp_path / "history.db"
    async with start_server(tmp_path, history_config()) as srv:
        store: StoreClient = srv.owner("history").store
        op = await RawClient.connect(srv.port)
        await op.register("op")
        await op.send("OPER admin pw")
        await op.expect("381")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", ["echo-message"])
        await bob.send("JOIN #c", "PRIVMSG #c :before")
        await bob.expect("PRIVMSG")
        with trio.fail_after(5):
            assert await store.flush()
        engine = open_engine(f"sqlite:///{db}")
        good = backup(engine, tmp_path / "good.db")
        engine.dispose()
        swap_in(db, damaged_copy(good, tmp_path / "bad.db"))
        for i in range(20):
            await bob.send(f"PRIVMSG #c :during {i}")
            await bob.expect("PRIVMSG")  # chat goes on
        start = await op.expect(is_notice("cannot write to the database"), timeout=10)
        assert str(db) in start.params[-1] and "malformed" in start.params[-1]
        assert store.backlog >= 20
        swap_in(db, good)
        end = await op.expect(is_notice("writable again"), timeout=15)
        assert "none lost" in end.params[-1]
        with trio.fail_after(5):
            assert await store.flush()
        assert [t for t in texts(db) if t] == ["before"] + [f"during {i}" for i in range(20)]
        # Only operators hear about it.
        assert not [m for m in bob.seen if m.command == "NOTICE"]
        await op.aclose()
        await bob.aclose()
        await all_gone(srv, store)
    found = errors(caplog)
    assert len(found) == 1, found
    assert str(db) in found[0] and "malformed" in found[0]
    ended = [r for r in caplog.records if "writable again" in r.getMessage()]
    assert len(ended) == 1 and ended[0].levelno == logging.WARNING
    # The worker's own log (its stderr) leaves the telling to the server.
    worker_log = capfd.readouterr().err
    assert "malformed" not in worker_log and " ERROR " not in worker_log, worker_log


async def all_gone(srv: RunningServer, store: StoreClient) -> None:
    """Wait until the server has seen every client leave and stored their QUITs.

    Otherwise a QUIT can reach the store after its shutdown began, a real loss
    these tests would count among their errors.
    """
    with trio.fail_after(5):
        while any(not user.bot for user in srv.core.connections):  # NickServ stays
            await trio.sleep(0.01)
        assert await store.flush()


class Stopped:
    """The worker process paused (SIGSTOP): a writer that is slow, not broken."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def __exit__(self, *exc: object) -> None:
        os.kill(self.pid, signal.SIGCONT)


async def test_a_slow_writer_under_churn_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="ircish.store")
    monkeypatch.setattr(history_client, "READ_WAIT_S", 0.05)
    async with start_server(tmp_path, history_config()) as srv:
        store: StoreClient = srv.owner("history").store
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", ["echo-message"])
        await alice.send("JOIN #c")
        await alice.expect("366")
        assert store.pid is not None
        said = []
        with Stopped(store.pid):
            for round_ in range(3):
                guests = [await RawClient.connect(srv.port) for _ in range(3)]
                for n, guest in enumerate(guests):
                    await guest.register(f"g{round_}x{n}")
                    await guest.send("JOIN #c")
                    await guest.expect("366")
                for i in range(5):
                    said.append(f"round {round_} line {i}")
                    await alice.send(f"PRIVMSG #c :{said[-1]}")
                    await alice.expect("PRIVMSG")
                # Each join's replay waits for the writer and gives up.
                with trio.fail_after(5):
                    while store.stats.slow_flushes < 3 * (round_ + 1):
                        await trio.sleep(0.01)
                for guest in guests:
                    await guest.send("PART #c")
                    await guest.aclose()
        with trio.fail_after(10):
            assert await store.flush()
        assert [t for t in texts(tmp_path / "history.db") if t.startswith("round")] == said
        await alice.aclose()
        await all_gone(srv, store)
    assert errors(caplog) == []
    slow = [r for r in caplog.records if "writer is slow" in r.getMessage()]
    assert len(slow) == 1 and slow[0].levelno == logging.WARNING


async def test_a_real_loss_under_churn_is_one_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="ircish.store")
    monkeypatch.setattr(history_client, "READ_WAIT_S", 0.05)
    async with start_server(tmp_path, history_config(queue_limit=10)) as srv:
        store: StoreClient = srv.owner("history").store
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", ["echo-message"])
        await alice.send("JOIN #c")
        await alice.expect("366")
        with trio.fail_after(5):
            assert await store.flush()
        assert store.pid is not None
        with Stopped(store.pid):
            for i in range(30):
                await alice.send(f"PRIVMSG #c :line {i}")
                await alice.expect("PRIVMSG")
            guest = await RawClient.connect(srv.port)
            await guest.register("guest")
            await guest.send("JOIN #c")  # its replay waits for the writer, then gives up
            await guest.expect("366")
            with trio.fail_after(5):
                while not store.stats.slow_flushes:
                    await trio.sleep(0.01)
        with trio.fail_after(10):
            assert await store.flush()
        stored = [t for t in texts(tmp_path / "history.db") if t.startswith("line")]
        assert stored == [f"line {i}" for i in range(10)]
        await guest.aclose()
        await alice.aclose()
        await all_gone(srv, store)
    found = errors(caplog)
    assert len(found) == 1 and "queue is full" in found[0], found
    # The 20 lines and the guest's JOIN.
    assert any("21 events were dropped" in r.getMessage() for r in caplog.records)
