"""History across real ``ircish-server`` processes: SIGKILL, SIGTERM, db commands."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import trio

from tests.ircclient import RawClient
from tests.server.test_process import SERVER, _free_port

# Generous, for a loaded machine: a start imports the whole server and migrates.
START_TIMEOUT_S = 60.0
COMMIT_TIMEOUT_S = 30.0


def write_config(tmp_path: Path, port: int, flush_ms: int = 50) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"[server]\nlisten = ['127.0.0.1:{port}']\n"
        "[channels]\nauto_join = ['#lobby']\n"
        "[limits]\nflood_burst = 1000\n"
        "[storage]\nurl = 'sqlite:///data/history.db'\n"
        f"flush_interval_ms = {flush_ms}\n"
        "[history]\nreplay_on_join = 20\n"
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    return path


async def start(config: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*SERVER, "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    try:
        with trio.fail_after(START_TIMEOUT_S):
            while True:
                line = await trio.to_thread.run_sync(proc.stderr.readline)
                assert line, f"server exited early with {proc.poll()}"
                if f"listening on 127.0.0.1:{port}" in line:
                    return proc
    except BaseException:
        stop(proc)  # a start that failed left the server running, past the test
        raise


async def talk(port: int, nick: str, lines: list[str], replay: int = 0) -> dict[str, str]:
    """Say lines in #lobby (auto-joined); return text -> server-time as echoed."""
    client = await RawClient.connect(port)
    await client.register(nick, ["echo-message", "server-time"])
    await client.expect("366")
    for _ in range(replay):  # the lines said before, replayed on join
        await client.expect("PRIVMSG")
    for text in lines:
        await client.send(f"PRIVMSG #lobby :{text}")
    times = {}
    for _ in lines:
        echo = await client.expect("PRIVMSG")
        times[echo.params[-1]] = echo.tags["time"]
    await client.aclose()
    return times


async def replayed(port: int, count: int) -> dict[str, str]:
    client = await RawClient.connect(port)
    await client.register("reader", ["server-time"])
    await client.expect("366")
    start = len(client.seen)
    for _ in range(count):
        await client.expect("PRIVMSG")
    lines = client.seen[start:] + await client.nothing_within(0.2)
    await client.aclose()
    return {m.params[-1]: m.tags["time"] for m in lines if m.command == "PRIVMSG"}


def _committed(db: Path) -> int:
    """PRIVMSG rows committed in ``db``, read by a connection of our own (0 before the
    worker made the file or its tables)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM history WHERE kind='PRIVMSG'").fetchone()[0])
    except sqlite3.OperationalError:  # no such table yet
        return 0
    finally:
        conn.close()


async def until_committed(db: Path, count: int) -> None:
    """Until ``count`` PRIVMSG rows are in ``db``: the writer's commit, not a guess at
    how long it takes on this machine."""
    with trio.fail_after(COMMIT_TIMEOUT_S):
        while await trio.to_thread.run_sync(_committed, db) < count:
            await trio.sleep(0.05)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; its new parent may be slow to reap it


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stderr:
        proc.stderr.close()


async def test_history_survives_sigkill_after_the_flush_interval(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path, port)
    proc = await start(config, port)
    try:
        said = await talk(port, "alice", [f"line {i}" for i in range(10)])
        # Committed while the server runs (shipped within the 50 ms interval): what the
        # SIGKILL must not take away. A fixed 0.3 s was too short on a loaded machine.
        await until_committed(tmp_path / "data" / "history.db", 10)
        workers = children(proc.pid)
        assert workers, "the history worker process is missing"
        proc.send_signal(signal.SIGKILL)
        await trio.to_thread.run_sync(proc.wait)
        # The worker sees the socket close, commits what it has and exits.
        with trio.fail_after(10):
            while any(alive(pid) for pid in workers):
                await trio.sleep(0.05)
    finally:
        stop(proc)
    proc = await start(config, port)
    try:
        seen = await replayed(port, 10)
        assert list(seen) == [f"line {i}" for i in range(10)]
        assert seen == said  # in order, with their original timestamps
    finally:
        stop(proc)


async def test_sigterm_flushes_and_backup_runs_against_the_live_server(tmp_path: Path) -> None:
    port = _free_port()
    # A long interval, so only the shutdown flush can have written the last line.
    config = write_config(tmp_path, port, flush_ms=1500)
    proc = await start(config, port)
    try:
        said = await talk(port, "bob", ["kept 1", "kept 2"])
        await until_committed(tmp_path / "data" / "history.db", 2)  # before the backup
        backup = tmp_path / "backup.db"
        result = await trio.to_thread.run_sync(
            lambda: subprocess.run(
                [*SERVER, "--config", str(config), "db", "backup", str(backup)],
                capture_output=True,
                text=True,
                timeout=30,
            )
        )
        assert result.returncode == 0, result.stderr
        copy = sqlite3.connect(backup)
        assert copy.execute("SELECT count(*) FROM history WHERE kind='PRIVMSG'").fetchone()[0] == 2
        copy.close()
        # A line said right before SIGTERM is still written: shutdown flushes.
        said.update(await talk(port, "bob", ["last words"], replay=2))
        proc.send_signal(signal.SIGTERM)
        assert await trio.to_thread.run_sync(lambda: proc.wait(timeout=30)) == 0
    finally:
        stop(proc)
    current = subprocess.run(
        [*SERVER, "--config", str(config), "db", "current"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert current.returncode == 0 and "(head)" in current.stdout
    proc = await start(config, port)
    try:
        assert await replayed(port, 3) == said
    finally:
        stop(proc)


def test_an_unusable_database_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f"[server]\nlisten = ['127.0.0.1:{_free_port()}']\n"
        "[storage]\nurl = 'sqlite:///no/such/dir/h.db'\n"
    )
    result = subprocess.run(
        [*SERVER, "--config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "storage" in result.stderr and "does not exist" in result.stderr
    (tmp_path / "bad.db").write_text("this is not a database")
    path.write_text(
        f"[server]\nlisten = ['127.0.0.1:{_free_port()}']\n[storage]\nurl = 'sqlite:///bad.db'\n"
    )
    result = subprocess.run(
        [*SERVER, "--config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "storage.url" in result.stderr and "not a database" in result.stderr
