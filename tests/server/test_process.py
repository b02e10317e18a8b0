"""The real ``ircish-server`` process: start-up errors, signals, graceful shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from tests.ircclient import RawClient

SERVER = [sys.executable, "-c", "import sys; from ircish.cli import server_main; "
          "sys.exit(server_main())"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVER, *args], capture_output=True, text=True, timeout=30, **kwargs)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[limits]\nnick_lenght = 9\n", "limits.nick_lenght: unknown key"),
        ("[limits]\nnick_length = 'nine'\n", "limits.nick_length: expected an integer"),
        ("[mystery]\n", "mystery: unknown section"),
        ("[server]\nlisten = ['nowhere']\n", "server.listen"),
        ("[tls]\nlisten = ['127.0.0.1:0']\ncert = 'missing.pem'\nkey = 'k.pem'\n", "tls.cert"),
        ("[server\n", "not valid TOML"),
        ("[logging]\nformat = 'xml'\n", "logging.format"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    result = _run(["--config", str(path)])
    assert result.returncode == 2
    assert str(path) in result.stderr and key in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_config_and_unbindable_address(tmp_path: Path) -> None:
    result = _run(["--config", str(tmp_path / "absent.toml")])
    assert result.returncode == 2 and "cannot read the file" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "config.toml"
        path.write_text(f"[server]\nlisten = ['127.0.0.1:{port}']\n")
        result = _run(["--config", str(path)])
    assert result.returncode == 2
    assert "server.listen" in result.stderr and "address already in use" in result.stderr


def test_hash_password_round_trip(tmp_path: Path) -> None:
    from ircish.passwords import verify_password

    result = _run(["hash-password"], input="s3cret\n")
    assert result.returncode == 0
    assert verify_password("s3cret", result.stdout.strip())
    assert not verify_password("wrong", result.stdout.strip())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_signal_stops_cleanly_and_clients_get_error(tmp_path: Path, signum: int) -> None:
    port = _free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        f"[server]\nlisten = ['127.0.0.1:{port}']\n[channels]\nauto_join = ['#lobby']\n"
        "[storage]\nurl = ''\n"
    )
    proc = subprocess.Popen([*SERVER, "--config", str(path)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        # The start may say other things first (that accounts are off, for one).
        for _ in range(10):
            first = await trio.to_thread.run_sync(proc.stderr.readline)
            if "listening on" in first:
                break
        assert f"listening on 127.0.0.1:{port}" in first
        client = await RawClient.connect(port)
        welcome = await client.register("alice")
        assert welcome[0].command == "001"
        await client.expect("366")  # auto-joined #lobby
        started = time.monotonic()
        proc.send_signal(signum)
        lines = await client.read_until_closed()
        assert lines[-1].command == "ERROR" and "shutting down" in lines[-1].params[0]
        code = await trio.to_thread.run_sync(lambda: proc.wait(timeout=10))
        assert code == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_second_signal_exits_at_once(tmp_path: Path) -> None:
    # A plugin that is slow to stop holds a graceful shutdown for its grace period;
    # a second Ctrl-C must not wait for it.
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "slow_stop.py").write_text(
        "import trio\n"
        "from ircish.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "async def on_server_stop():\n"
        "    await trio.sleep(30)\n"
    )
    port = _free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        f"[server]\nlisten = ['127.0.0.1:{port}']\n"
        "[plugins]\nenabled = ['slow_stop']\nhook_timeout = 30\n[storage]\nurl = ''\n"
    )
    proc = subprocess.Popen([*SERVER, "--config", str(path)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        while "listening on" not in (line := await trio.to_thread.run_sync(proc.stderr.readline)):
            assert line, "server exited before listening"
        proc.send_signal(signal.SIGINT)
        while "shutting down" not in (line := await trio.to_thread.run_sync(proc.stderr.readline)):
            assert line, "server exited without shutting down"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = await trio.to_thread.run_sync(lambda: proc.wait(timeout=10))
        assert code == 1
        # The slow plugin would have held the first shutdown for its full grace period.
        assert time.monotonic() - started < 1.5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
