"""Plain mode: stdin lines out, one line per event in, exit status for scripts."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from ircish.client.app import make_client
from ircish.client.connection import Pace
from ircish.client.plain import run_plain
from ircish.protocol import Message
from ircish.testing import RunningServer
from tests.client.helpers import config
from tests.ircclient import RawClient

LINE = re.compile(r"^\d\d:\d\d:\d\d \S+ .*$")


async def said_before_quit(other: RawClient, nick: str) -> list[Message]:
    """The PRIVMSGs ``other`` gets up to ``nick``'s QUIT: what ``nick`` said came before
    it. (A fixed wait of 0.3 s missed lines on a loaded machine.)"""
    start = len(other.seen)
    await other.expect(lambda m: m.command == "QUIT" and m.source.startswith(f"{nick}!"),
                       timeout=30)
    return [m for m in other.seen[start:] if m.command == "PRIVMSG"]


def feeder(lines: list[str]) -> Callable[[], Awaitable[str | None]]:
    pending = list(lines)

    async def read_line() -> str | None:
        await trio.sleep(0)
        return pending.pop(0) if pending else None

    return read_line


async def test_plain_sends_input_then_exits_on_eof(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]]
) -> None:
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    output: list[str] = []
    lines = ["hello from a pipe", "/me is a script", "/msg bob psst", "/join #second", "in two"]
    with trio.fail_after(10):
        status = await run_plain(config(server.port, nick="bot"), feeder(lines), output.append)
    assert status == 0

    said = await said_before_quit(other, "bot")
    assert [m.params for m in said] == [
        ["#lobby", "hello from a pipe"],
        ["#lobby", "\x01ACTION is a script\x01"],
        ["bob", "psst"],
    ]
    assert all(LINE.match(line) for line in output), output
    assert any(line.endswith(" #lobby <bot> hello from a pipe") for line in output)
    assert any(line.endswith(" #lobby * bot is a script") for line in output)
    assert any(line.endswith(" #second <bot> in two") for line in output)


async def test_plain_prints_incoming_events(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]]
) -> None:
    output: list[str] = []
    release = trio.Event()
    sent = iter(["/window 2"])

    async def read_line() -> str | None:
        line = next(sent, None)
        if line is None:
            await release.wait()
        return line

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_plain, config(server.port, nick="bot"), read_line, output.append)
        with trio.fail_after(5):
            while not any("You joined #lobby" in line for line in output):
                await trio.sleep(0.01)
        other = await connect("bob")
        await other.send("JOIN #lobby", "PRIVMSG #lobby :hi bot", "PART #lobby :later")
        with trio.fail_after(5):
            while not any("has left" in line for line in output):
                await trio.sleep(0.01)
        release.set()
    assert any(re.search(r" #lobby --> bob \(\S+\) has joined #lobby$", line) for line in output)
    assert any(line.endswith(" #lobby <bob> hi bot") for line in output)
    assert any(line.endswith(" #lobby <-- bob has left #lobby (later)") for line in output)


async def test_plain_gives_up_with_status_1_when_no_server() -> None:
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output: list[str] = []
    with trio.fail_after(5):
        status = await run_plain(config(port), feeder(["lost"]), output.append)
    assert status == 1
    assert any("Could not connect" in line for line in output)


async def test_console_script_in_a_pipe(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]]
) -> None:
    """``echo hello | ircish-client --plain --nick bot --join '#lobby'`` as a real process."""
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent"}
    args = [sys.executable, "-m", "ircish.client.cli", "--plain", "--nick", "bot"]
    args += ["--port", str(server.port), "--join", "#lobby"]
    with trio.fail_after(15):
        result = await trio.run_process(
            args, stdin=b"hello\n", capture_stdout=True, capture_stderr=True, env=env
        )
        got = await other.expect("PRIVMSG")
    assert result.returncode == 0, result.stderr
    assert got.params == ["#lobby", "hello"]
    assert b" #lobby <bot> hello\n" in result.stdout


async def test_plain_delivers_a_paste_longer_than_the_flood_burst(
    make_server: Callable[..., Any], connect: Callable[..., Awaitable[RawClient]]
) -> None:
    """The server throttles; every line still arrives before the client quits."""
    limits = {"limits": {"flood_burst": 10, "flood_rate": 40.0}}
    async with make_server(limits) as srv:
        other = await RawClient.connect(srv.port)
        await other.register("bob")
        await other.send("JOIN #lobby")
        await other.expect("366")
        client = make_client(config(srv.port, nick="bot"), give_up_after=1)
        client.connection.pace = Pace(burst=5, rate=60.0)
        lines = [f"pasted {i}" for i in range(40)]
        with trio.fail_after(10):
            status = await run_plain(client.config, feeder(lines), lambda _: None, client=client)
        got = [m.params[1] for m in await said_before_quit(other, "bot")]
        assert status == 0
        assert got == lines
        await other.aclose()


async def test_pace_allows_a_burst_then_a_steady_rate(autojump_clock: object) -> None:
    pace = Pace(burst=3, rate=2.0)
    start = trio.current_time()
    assert await pace.take(10) == 3
    assert await pace.take(10) == 1
    assert trio.current_time() - start == pytest.approx(0.5)
    await trio.sleep(10)
    assert await pace.take(10) == 3  # refills to the burst, never beyond


async def test_plain_text_after_list_still_goes_to_the_channel(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]]
) -> None:
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    output: list[str] = []
    pending = ["/list", "after the list"]

    async def read_line() -> str | None:
        if pending == ["after the list"]:
            with trio.fail_after(5):  # the answer is in: the list window exists now
                while not any(" -list- " in line and "sorted by" in line for line in output):
                    await trio.sleep(0.01)
        await trio.sleep(0)
        return pending.pop(0) if pending else None

    with trio.fail_after(10):
        status = await run_plain(config(server.port, nick="bot"), read_line, output.append)
    assert status == 0
    said = await said_before_quit(other, "bot")
    assert [m.params for m in said] == [["#lobby", "after the list"]]
