"""The history worker process: the server never imports SQLAlchemy, survives the
worker's death, and fails its start when the worker cannot open the database."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from ircish.history.client import StoreClient
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.testing import start_server
from tests.ircclient import RawClient
from tests.store.helpers import msg

HISTORY = {
    "storage": {"url": "sqlite:///history.db", "flush_interval_ms": 20},
    "history": {"replay_on_join": 5},
    "limits": {"flood_burst": 1000},
}


def test_the_server_process_never_imports_sqlalchemy(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import trio
        import ircish.app
        from ircish.testing import start_server
        from tests.hooks.conftest import REPO_PLUGINS, plugin_config
        from tests.ircclient import RawClient

        async def main():
            # Plugins too: their api.history asks the store.
            config = plugin_config(REPO_PLUGINS, ["seen_bot"])
            config["storage"] = {{"url": "sqlite:///h.db", "flush_interval_ms": 10}}
            async with start_server(Path({str(tmp_path)!r}), config) as srv:
                client = await RawClient.connect(srv.port)
                await client.register("alice", ["draft/chathistory", "batch"])
                await client.send("JOIN #c", "PRIVMSG #c :hello", "CHATHISTORY LATEST #c * 5")
                await client.expect("BATCH")
                await client.send("PRIVMSG SeenBot :seen nobody")
                await client.expect(lambda m: m.source and m.source.startswith("SeenBot"))
                await client.aclose()
                assert srv.owner("history").store.pid is not None
            leaked = sorted(m for m in sys.modules
                            if m.split(".")[0] in ("sqlalchemy", "alembic"))
            print("LEAKED", leaked)

        trio.run(main)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert "LEAKED []" in result.stdout, result.stdout


async def test_a_killed_worker_is_restarted_and_nothing_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="ircish.store")
    async with start_server(tmp_path, HISTORY) as srv:
        store: StoreClient = srv.owner("history").store
        store._restart_initial = 0.05
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", ["draft/chathistory", "batch", "echo-message"])
        await alice.send("JOIN #c")
        await alice.expect("366")
        await alice.send("PRIVMSG #c :before")
        await alice.expect("PRIVMSG")
        first = store.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        # Chat goes on while the worker is dead and restarting.
        for i in range(5):
            await alice.send(f"PRIVMSG #c :during {i}")
            await alice.expect("PRIVMSG")
        with trio.fail_after(10):
            while store.pid == first or store._link is None:
                await trio.sleep(0.02)
            assert await store.flush()
        await alice.send("CHATHISTORY LATEST #c * 10")
        await alice.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
        said = [m.params[-1] for m in alice.seen if m.command == "PRIVMSG" and "batch" in m.tags]
        assert said == ["before"] + [f"during {i}" for i in range(5)]
        await alice.aclose()
    gone = [r.getMessage() for r in caplog.records if "history worker" in r.getMessage()]
    assert any("killed by SIGKILL" in m and "restarting" in m for m in gone), gone


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


async def test_an_old_schema_without_auto_migrate_stops_the_start(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "base")  # an empty database: not at head
    engine.dispose()
    config = {"storage": {"url": "sqlite:///old.db", "auto_migrate": False}}
    with pytest.raises(BaseExceptionGroup) as caught:
        async with start_server(tmp_path, config):
            pass  # pragma: no cover
    errors = leaves(caught.value)
    text = " ".join(str(e) for e in errors)
    assert all(type(e).__name__ == "ConfigError" for e in errors), errors
    assert "storage.url" in text and "db upgrade" in text


async def test_the_worker_commits_what_it_has_when_the_server_goes_away(tmp_path: Path) -> None:
    from ircish.history.settings import StoreSettings

    store = StoreClient(StoreSettings(url="sqlite:///h.db", flush_interval_ms=1), tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        for i in range(200):
            store.submit(msg(f"line {i}"))
        assert await store.flush()
        more = [msg(f"late {i}") for i in range(50)]
        for m in more:
            store.submit(m)
        nursery.cancel_scope.cancel()  # the shutdown path: ships the rest, waits
    assert store.backlog == 0
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM history").scalar()
    engine.dispose()
    assert count == 250


async def test_queue_overflow_in_the_server_is_logged_with_the_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ircish.history.settings import StoreSettings

    settings = StoreSettings(url="sqlite:///h.db", flush_interval_ms=1, queue_limit=10)
    store = StoreClient(settings, tmp_path)
    for i in range(15):  # the worker is not even started: the queue fills up
        store.submit(msg(f"line {i}"))
    assert store.stats.dropped_overflow == 5
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(full) == 1
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        assert await store.flush()
        nursery.cancel_scope.cancel()
    assert any("5 events were dropped" in r.getMessage() for r in caplog.records)


async def test_a_query_sees_the_lines_queued_before_it_without_a_flush(tmp_path: Path) -> None:
    from ircish.core.chathistory import HistoryRequest, Viewer
    from ircish.history.settings import StoreSettings

    # A flush interval far longer than the test: only the query can ship the line.
    store = StoreClient(StoreSettings(url="sqlite:///h.db", flush_interval_ms=600_000), tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run)
        store.submit(msg("just said", target="#c"))
        request = HistoryRequest("LATEST", "#c", (None,), 10, frozenset({"PRIVMSG"}),
                                 viewer=Viewer("x"))
        with trio.fail_after(10):
            (found,) = await store.ask(request)
        assert [r.text for r in found] == ["just said"]
        assert store.stats.slow_flushes == 0
        nursery.cancel_scope.cancel()
