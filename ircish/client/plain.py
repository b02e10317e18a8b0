"""Line mode for pipes and scripts: stdin lines go out, every event comes out as a line.

Input waits until the client is registered and has joined its channels, so
``echo hello | ircish-client --plain --join '#lobby'`` says hello in #lobby
rather than to nobody. At end of input it quits and waits for the server to
close, which is when everything read has certainly been sent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterable

import trio

from ircish.client.app import Client, make_client
from ircish.client.commands import run_input
from ircish.client.config import ClientConfig
from ircish.client.format import plain_line
from ircish.client.model import Buffer, Line

ReadLine = Callable[[], Awaitable[str | None]]
Write = Callable[[str], None]

PLAIN_ATTEMPTS = 3  # before the first registration; then a script gets exit status 1
JOIN_WAIT = 10.0  # a channel that never confirms the join must not hold input forever


class PrintListener:
    """Every model change printed as ``HH:MM:SS target text``."""

    def __init__(self, write: Write) -> None:
        self.write = write

    def line_added(self, buffer: Buffer, line: Line) -> None:
        self.write(plain_line(buffer, line))

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None:
        for line in lines:
            self.write(plain_line(buffer, line))

    def changed(self) -> None:
        pass


async def read_stdin() -> str | None:
    line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
    return line.rstrip("\r\n") if line else None


def write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``); keep sending what stdin says.
        sys.stdout = open(os.devnull, "w")


class _Ready:
    """Tracks when input may be sent: registered, and the autojoin channels joined."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.registered = trio.Event()
        self.joined: set[str] = set()
        self.changed = trio.Event()
        self.closed = False
        client.session.on_event = self.on_event

    def on_event(self, kind: str, arg: str) -> None:
        if kind == "registered":
            self.registered.set()
        elif kind == "joined":
            self.joined.add(self.client.buffers.casefold(arg))
        elif kind == "lost":
            # A fresh event only once the old one fired: one lost before
            # registration must not strand a task still waiting on it.
            if self.registered.is_set():
                self.registered = trio.Event()
            self.joined.clear()
        elif kind == "closed":
            self.closed = True
            self.registered.set()
        self.changed.set()
        self.changed = trio.Event()

    async def wait(self) -> bool:
        """Wait until input can go out; False when the connection gave up for good."""
        await self.registered.wait()
        if self.closed:
            return False
        await self.wait_joined(self.client.config.join)
        return not self.closed

    async def wait_joined(self, channels: Iterable[str]) -> None:
        fold, name = self.client.buffers.casefold, self.client.session.channel_name
        wanted = {fold(name(c)) for c in channels}
        with trio.move_on_after(JOIN_WAIT):
            while not wanted <= self.joined:
                await self.changed.wait()


async def run_plain(
    config: ClientConfig,
    read_line: ReadLine = read_stdin,
    write: Write = write_stdout,
    *,
    client: Client | None = None,
) -> int:
    client = client or make_client(config, give_up_after=PLAIN_ATTEMPTS)
    client.attach(PrintListener(write))
    client.session.focus_results = False  # after /list, text still goes to the channel
    ready = _Ready(client)
    done = False

    def quit_(reason: str) -> None:
        nonlocal done, quit_reason
        done = True
        quit_reason = reason

    quit_reason = "Leaving"
    status = 0
    ctx = client.context(quit_)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.connection.run)
        # Even with no input at all, a run connects and joins: a script may
        # use that to check a server is up.
        if not await ready.wait():
            status = 1
            done = True
        while not done:
            line = await read_line()
            if line is None:
                break
            if not client.session.registered and not await ready.wait():
                status = 1
                break
            run_input(ctx, line)
            command, _, args = line.partition(" ")
            if command.lower() in ("/join", "/j") and args:
                # A script's next line is meant for the channel it just joined.
                await ready.wait_joined(args.split()[0].split(","))
        await client.connection.quit(quit_reason)
        nursery.cancel_scope.cancel()
    return status
