"""A plugin's server command still running when the user who sent it goes: it is
cancelled then (not at ``hook_timeout``), and nothing keeps the user alive."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import trio

from ircish.core.state import User

from .conftest import wait_until

WAITER = """
import trio
from ircish.hooks import ServerCommand, hookimpl

gate = trio.Event()
started = []
cancelled = []
finished = []

async def wait_for_gate(user, reply):
    started.append(user.nick)
    try:
        await gate.wait()
    except trio.Cancelled:
        cancelled.append(True)
        raise
    finished.append(True)
    reply("the gate opened")

@hookimpl
def register_commands(api):
    return [ServerCommand("WAITGATE", wait_for_gate)]
"""


def users_named(nick: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is User and o.nick == nick)


async def test_a_command_of_a_user_who_quits_is_cancelled_and_the_user_freed(
    plugin_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A long hook_timeout: only the departure can end the command in time.
    async with plugin_server({"waiter": WAITER}, hook_timeout=60) as h:
        module = h.module("waiter")
        bob = await h.client("bob")
        alice = await h.client("alice")
        await alice.send("WAITGATE")
        await wait_until(lambda: module.started)
        await alice.send("QUIT :bye")
        await alice.expect("ERROR")
        await wait_until(lambda: module.cancelled, timeout=5)
        assert not h.runner._for_user
        # The outbox's last batch and the housekeeping loop hold the latest
        # connection they saw until their next round: bob's PINGs give them one.
        with trio.fail_after(10):
            while users_named("alice"):
                await bob.send("PING :round")
                await bob.expect("PONG")
                await trio.sleep(0.2)
        module.gate.set()
        await bob.send("PING :after")
        await bob.expect("PONG")
        assert module.finished == []
    # The user's departure is not the plugin's failure.
    assert "plugin waiter" not in caplog.text


async def test_a_command_of_a_user_still_here_runs_to_its_end(plugin_server: Any) -> None:
    async with plugin_server({"waiter": WAITER}, hook_timeout=60) as h:
        module = h.module("waiter")
        alice = await h.client("alice")
        bob = await h.client("bob")
        await alice.send("WAITGATE")
        await wait_until(lambda: module.started)
        await bob.send("QUIT :another user goes")  # not alice: hers goes on
        await bob.expect("ERROR")
        await trio.sleep(0.1)
        assert module.cancelled == []
        module.gate.set()
        notice = await alice.expect("NOTICE")
        assert notice.params[-1] == "the gate opened"
        assert not h.runner._for_user
