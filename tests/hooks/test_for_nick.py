"""``api.for_nick``: a plugin's work for whoever holds a nick is cancelled when the
nick is given up (a quit, a rename), and from the start when nobody holds it, so a
greeting nobody will read does not wait on the store meanwhile (and counts as no
failure of the plugin)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from .conftest import wait_until

WAITER = """
import trio
from ircish.hooks import hookimpl

gate = trio.Event()
started = []
outcome = []

@hookimpl
async def on_join(api, nick, channel):
    started.append(nick)
    with api.for_nick(nick):
        await gate.wait()
        outcome.append(("done", nick))
        return
    outcome.append(("cancelled", nick))
"""


async def _both_waiting(h: Any) -> tuple[Any, Any, Any]:
    """The waiter plugin, and alice and bob in #a, each one's join hook waiting."""
    module = h.module("waiter")
    alice = await h.client("alice")
    bob = await h.client("bob")
    await alice.send("JOIN #a")
    await bob.send("JOIN #a")
    await wait_until(lambda: len(module.started) == 2)
    return module, alice, bob


async def test_a_quit_cancels_the_work_for_that_nick_only(
    plugin_server: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    # A long hook_timeout: only the departure can end the hook in time.
    async with plugin_server({"waiter": WAITER}, hook_timeout=60) as h:
        module, alice, _ = await _both_waiting(h)
        await alice.send("QUIT :bye")
        await alice.expect("ERROR")
        await wait_until(lambda: module.outcome)
        assert module.outcome == [("cancelled", "alice")]
        module.gate.set()
        await wait_until(lambda: len(module.outcome) == 2)
        assert module.outcome[1] == ("done", "bob")
        assert not h.runner._for_nick
    assert "plugin waiter" not in caplog.text


async def test_a_rename_cancels_but_a_change_of_case_does_not(plugin_server: Any) -> None:
    async with plugin_server({"waiter": WAITER}, hook_timeout=60) as h:
        module, alice, bob = await _both_waiting(h)
        await alice.send("NICK alice2")
        await wait_until(lambda: module.outcome)
        assert module.outcome == [("cancelled", "alice")]
        await bob.send("NICK BOB")
        await bob.expect("NICK")
        await bob.send("PING :x")
        await bob.expect("PONG")
        await trio.sleep(0.1)
        assert module.outcome == [("cancelled", "alice")]
        module.gate.set()
        await wait_until(lambda: len(module.outcome) == 2)
        assert module.outcome[1] == ("done", "bob")


async def test_a_nick_nobody_holds_any_more_is_cancelled_at_once(plugin_server: Any) -> None:
    async with plugin_server({"waiter": WAITER}, hook_timeout=60) as h:
        module = h.module("waiter")
        carol = await h.client("carol")
        # The dispatcher hears of the JOIN after carol has already gone.
        await carol.send("JOIN #a")
        await carol.send("QUIT :gone")
        await carol.expect("ERROR")
        await wait_until(lambda: module.outcome)
        assert module.outcome == [("cancelled", "carol")]
        assert not h.runner._for_nick
        with h.runner.nick_scope("carol") as scope:
            assert scope.cancel_called
            await trio.sleep(1)
        assert scope.cancelled_caught
