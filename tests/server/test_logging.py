"""The operator's log: one INFO line per connect, registration, quit, OPER, KILL;
and ``[logging] format = "json"`` in the real process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from functools import cache
from pathlib import Path

import pytest
import trio

from ircish.passwords import hash_password
from ircish.testing import start_server
from tests.ircclient import RawClient
from tests.server.test_process import SERVER, _free_port


@cache
def _hash() -> str:
    return hash_password("operpassword")


async def test_connect_register_oper_kill_quit_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {"opers": [{"name": "op", "password_hash": _hash()}]}
    async with start_server(tmp_path, config) as srv:
        boss = await RawClient.connect(srv.port)
        await boss.register("boss")
        await boss.send("OPER op wrong")
        await boss.expect("464", timeout=10)
        await boss.send("OPER op operpassword")
        await boss.expect("381", timeout=10)
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await boss.send("KILL bob :go away")
        await bob.read_until_closed()
        await boss.send("QUIT :see you")
        await boss.read_until_closed()
        with trio.fail_after(5):
            while "quit boss" not in caplog.text:
                await trio.sleep(0.01)
        await bob.aclose()
        await boss.aclose()
    records = [r for r in caplog.records if r.levelno == logging.INFO]
    text = "\n".join(r.getMessage() for r in records)
    assert "connect from 127.0.0.1 (plain)" in text
    assert "registered boss (~boss) from 127.0.0.1" in text
    assert "OPER failed for boss from 127.0.0.1 as 'op': wrong password" in text
    assert "OPER boss from 127.0.0.1 as 'op': success" in text
    assert "KILL bob (~bob) from 127.0.0.1 by boss: go away" in text
    assert "quit bob (~bob) from 127.0.0.1: Killed (boss (go away))" in text
    assert "quit boss (~boss) from 127.0.0.1: Quit: see you" in text
    assert "password" not in text.replace("wrong password", "")


async def test_refused_connections_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_server(tmp_path, {"limits": {"clients_per_ip": 1}}) as srv:
        first = await RawClient.connect(srv.port)
        await first.register("one")
        second = await RawClient.connect(srv.port)
        await second.read_until_closed()
        for c in (first, second):
            await c.aclose()
    assert ("refused a connection from 127.0.0.1: Too many connections from your IP address"
            in caplog.text)


async def test_json_log_format_in_the_process(tmp_path: Path) -> None:
    port = _free_port()
    path = tmp_path / "config.toml"
    path.write_text(f"[server]\nlisten = ['127.0.0.1:{port}']\n[storage]\nurl = ''\n"
                    "[logging]\nformat = 'json'\n")
    proc = subprocess.Popen([*SERVER, "--config", str(path)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        entries = []

        async def until(words: str) -> None:
            with trio.fail_after(20):
                while True:
                    line = await trio.to_thread.run_sync(proc.stderr.readline)
                    assert line, "the server stopped"
                    entries.append(json.loads(line))  # every line is one JSON object
                    if words in entries[-1]["message"]:
                        return

        await until(f"listening on 127.0.0.1:{port}")
        client = await RawClient.connect(port)
        await client.register("alice")
        await until("registered alice")
        connect = next(e for e in entries if e["message"].startswith("connect from"))
        assert connect["message"] == "connect from 127.0.0.1 (plain)"
        assert connect["level"] == "INFO" and connect["logger"] == "ircish.net"
        assert connect["time"].endswith("Z") and "T" in connect["time"]
        await client.aclose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
