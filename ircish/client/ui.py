"""Full-screen mode: urwid on urwid's TrioEventLoop, inside the client's own Trio run.

The connection and the screen share one Trio run and one nursery, so a line
from the server updates the model and widgets directly, and urwid redraws on
its next idle pass. Leaving the ``loop.start()`` block, however it happens
(``/quit``, an error, Ctrl-C), gives the terminal back in its normal state.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import trio
import urwid

from ircish.client.app import Client, make_client
from ircish.client.commands import COMMANDS, Context, run_input
from ircish.client.config import ClientConfig
from ircish.client.model import Buffer
from ircish.client.notify import Notifier
from ircish.client.widgets import PALETTE, ChatWindow, Look

# Width of CJK and emoji is computed from the text, not the bytes: the layout
# relies on urwid knowing the text is UTF-8 whatever the locale says.
urwid.set_encoding("utf8")


def build_window(
    client: Client, ctx: Context, write: Callable[[str], None] | None = None, colours: int = 256
) -> ChatWindow:
    """The screen's widget tree; ``write`` reaches the terminal for the bell and title."""
    session = client.session

    def scroll_top(buffer: Buffer) -> None:
        session.request_older(buffer)

    window = ChatWindow(
        client.buffers,
        own_nick=lambda: session.nick,
        on_submit=lambda text: run_input(ctx, text),
        on_scroll_top=scroll_top,
        commands=lambda: sorted(COMMANDS),
        chantypes=lambda: session.isupport.chantypes,
        away=lambda: session.away,
        online=lambda: session.registered,
        look=Look(formatting=client.config.formatting, colours=colours),
        notifier=Notifier(write, bell=client.config.bell) if write is not None else None,
    )
    client.attach(window)
    return window


async def run_fullscreen(config: ClientConfig, screen: urwid.BaseScreen | None = None) -> int:
    client = make_client(config)
    async with trio.open_nursery() as nursery:

        async def leave(reason: str) -> None:
            await client.connection.quit(reason)
            nursery.cancel_scope.cancel()

        ctx = client.context(lambda r: nursery.start_soon(leave, r))
        screen = screen or urwid.display.raw.Screen()

        def write(text: str) -> None:
            # Straight to the terminal, between urwid's redraws: BEL and OSC 2
            # do not move the cursor, so the screen stays as drawn.
            screen.write(text)
            screen.flush()

        window = build_window(client, ctx, write, colours=screen.colors)
        event_loop = urwid.TrioEventLoop()
        loop = urwid.MainLoop(
            window,
            PALETTE,
            screen=screen,
            event_loop=event_loop,
            handle_mouse=False,  # leave mouse selection to the terminal, for copying
        )
        nursery.start_soon(client.connection.run)
        with loop.start():
            # Ctrl-C arrives as a key and quits cleanly, saying goodbye to the
            # server; stopping the screen puts the terminal's own setting back.
            if screen is None and sys.stdin.isatty():
                loop.screen.tty_signal_keys(intr="undefined", fileno=sys.stdin.fileno())
            await event_loop.run_async()
        nursery.cancel_scope.cancel()
    return 0
