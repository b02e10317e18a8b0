"""The real program in a pseudo-terminal: full screen up, typing, /quit, terminal restored."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
import urwid

from ircish.testing import RunningServer
from tests.ircclient import RawClient

ANSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Terminal:
    def __init__(self, master: int, process: trio.Process) -> None:
        self.stream = trio.lowlevel.FdStream(master)
        self.process = process
        self.output = b""

    def text(self) -> str:
        return ANSI.sub(b"", self.output).decode("utf-8", "replace")

    async def wait_for(self, needle: str, timeout: float = 10) -> None:
        with trio.fail_after(timeout):
            while needle not in self.text():
                try:
                    data = await self.stream.receive_some(65536)
                except (OSError, trio.BrokenResourceError):  # EIO: the terminal was closed
                    data = b""
                if not data:
                    raise AssertionError(f"terminal closed before {needle!r}: {self.text()!r}")
                self.output += data

    async def drain(self) -> None:
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except (OSError, trio.BrokenResourceError):
                return
            if not data:
                return
            self.output += data

    async def type(self, text: str) -> None:
        await self.stream.send_all(text.encode())


async def start(
    port: int, size: tuple[int, int] = (80, 24), extra: list[str] | None = None
) -> Terminal:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "XDG_CONFIG_HOME": "/nonexistent"}
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "ircish.client.cli", "--port", str(port), "--nick", "ada"]
        + (extra or []),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return Terminal(master, process)


@pytest.mark.skipif(sys.platform != "linux", reason="uses a Linux pseudo-terminal")
async def test_full_screen_in_a_pty(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]]
) -> None:
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    term = await start(server.port)
    try:
        await term.wait_for("[ada] [2:#lobby]")
        assert "\x1b[?1049h" in term.output.decode("latin-1")  # switched to the alternate screen
        await term.type("hello from a terminal\r")
        got = await other.expect("PRIVMSG")
        assert got.params == ["#lobby", "hello from a terminal"]

        await other.send("PRIVMSG #lobby :hi ada")
        await term.wait_for("<bob> hi ada")

        # Resizing: the program learns the new size and redraws for it.
        fcntl.ioctl(term.stream.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        term.process.send_signal(signal.SIGWINCH)
        term.output = b""
        await term.wait_for("[ada] [2:#lobby]")

        await term.type("/quit done here\r")
        quit_msg = await other.expect("QUIT")
        assert "done here" in quit_msg.params[0]
        with trio.fail_after(10):
            await term.drain()
            status = await term.process.wait()
        assert status == 0
        # The alternate screen is left again: the user's terminal is back as it was.
        assert term.output.rfind(b"\x1b[?1049l") > term.output.rfind(b"\x1b[?1049h")
    finally:
        if term.process.returncode is None:
            term.process.kill()
            await term.process.wait()
        await term.stream.aclose()


async def test_terminal_is_restored_after_an_error(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a command must not leave the user's terminal in raw mode."""
    from ircish.client import commands
    from ircish.client.ui import run_fullscreen
    from tests.client.helpers import config

    def broken(ctx: commands.Context, args: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(
        commands.COMMANDS, "help", commands.Command(broken, "/help", "broken for the test")
    )
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    before = termios.tcgetattr(slave)
    output = os.fdopen(os.dup(slave), "w", encoding="utf-8")
    screen = urwid.display.raw.Screen(input=os.fdopen(os.dup(slave), "rb"), output=output)
    term = trio.lowlevel.FdStream(master)
    try:

        async def drive() -> None:
            seen = b""
            while b"[ada] [2:#lobby]" not in ANSI.sub(b"", seen):
                seen += await term.receive_some(65536)
            await term.send_all(b"/help\r")
            while True:  # keep the pty drained so the screen never blocks writing
                await term.receive_some(65536)

        with pytest.RaisesGroup(
            pytest.RaisesExc(RuntimeError, match="a bug"), flatten_subgroups=True
        ):
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(drive)
                    await run_fullscreen(config(server.port), screen=screen)
        assert not screen.started
        assert termios.tcgetattr(slave) == before
    finally:
        await term.aclose()
        os.close(slave)
        output.close()


@pytest.mark.skipif(sys.platform != "linux", reason="uses a Linux pseudo-terminal")
async def test_bell_title_and_window_log_in_a_pty(
    server: RunningServer, connect: Callable[..., Awaitable[RawClient]], tmp_path: Path
) -> None:
    settings = tmp_path / "client.toml"
    logs = tmp_path / "logs"
    settings.write_text(f'highlight = ["python"]\nlog = true\nlog_dir = "{logs}"\n')
    other = await connect("bob")
    await other.send("JOIN #lobby")
    await other.expect("366")
    term = await start(server.port, extra=["--config", str(settings)])
    try:
        await term.wait_for("[ada] [2:#lobby]")
        await other.send("PRIVMSG #lobby :does anyone here use Python?")
        await term.wait_for("use Python?")
        raw = term.output.decode("utf-8", "replace")
        assert "\a" in raw and "\x1b]2;ircish: bob (#lobby)\x07" in raw
        await other.send("PRIVMSG ada :a private word")
        await term.wait_for("Act: 3")
        assert "\x1b]2;ircish: bob (private message)\x07" in term.output.decode("utf-8", "replace")
        await term.type("/quit\r")
        with trio.fail_after(10):
            await term.drain()
            assert await term.process.wait() == 0
    finally:
        if term.process.returncode is None:
            term.process.kill()
            await term.process.wait()
        await term.stream.aclose()
    lobby = (logs / "ircish" / "#lobby.log").read_text().splitlines()
    assert lobby[-1].endswith("<bob> does anyone here use Python?")
    assert (logs / "ircish" / "bob.log").read_text().endswith("<bob> a private word\n")
