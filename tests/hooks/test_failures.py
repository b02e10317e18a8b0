"""Async hooks, slow hooks, failing hooks: logged by name, the chat goes on."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio

from tests.hooks.conftest import wait_until

ASYNC = '''
import trio
from ircish.hooks import hookimpl

done = []

@hookimpl
async def on_message(api, text, target):
    await trio.sleep(0.05)
    done.append(text)
    api.bot("Echo").say("alice", "echo " + text)
'''

SLOW = '''
import trio
from ircish.hooks import hookimpl

started = []

@hookimpl
async def on_message(text):
    started.append(text)
    await trio.sleep(60)
'''

RAISES = '''
from ircish.hooks import hookimpl

@hookimpl
def on_message(text):
    raise RuntimeError("boom: " + text)
'''

RAISES_ASYNC = '''
import trio
from ircish.hooks import hookimpl

@hookimpl
async def on_join(channel):
    await trio.sleep(0)
    raise ValueError("async boom in " + channel)
'''

BACKGROUND = '''
import trio
from ircish.hooks import hookimpl

ticks = []

@hookimpl
def on_server_start(api):
    api.start_soon(ticker, api)

async def ticker(api):
    while True:
        ticks.append(1)
        await trio.sleep(0.01)
'''


async def test_async_hook_is_awaited(plugin_server: Any) -> None:
    async with plugin_server({"asyncp": ASYNC}) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        await bob.send("PRIVMSG alice :hi")
        await alice.expect("PRIVMSG")
        echo = await alice.expect(lambda m: m.command == "PRIVMSG" and m.source.startswith("Echo"))
        assert echo.params == ["alice", "echo hi"]
        assert h.module("asyncp").done == ["hi"]


async def test_slow_hook_times_out_without_holding_up_messages(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_server({"slow": SLOW}, hook_timeout=0.2, max_failures=100) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        with trio.fail_after(1):  # far less than the hook's 60 s sleep
            for i in range(3):
                await bob.send(f"PRIVMSG alice :m{i}")
                await alice.expect("PRIVMSG")
        # Each message got its own task: all three hooks started though none finished.
        await wait_until(lambda: h.module("slow").started == ["m0", "m1", "m2"])
        await wait_until(lambda: "timed out after 0.2s" in caplog.text)
    record = next(r for r in caplog.records if "timed out" in r.getMessage())
    assert "plugin slow: on_message timed out after 0.2s" in record.getMessage()


async def test_failing_plugin_is_logged_then_disabled(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with plugin_server({"bad": RAISES, "asyncp": ASYNC}, max_failures=3) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        for i in range(5):
            await bob.send(f"PRIVMSG alice :m{i}")
            msg = await alice.expect(
                lambda m: m.command == "PRIVMSG" and m.source.startswith("bob"))
            assert msg.params[1] == f"m{i}"  # the chat goes on
        # The other plugin saw every message.
        await wait_until(lambda: len(h.module("asyncp").done) == 5)
        runner = h.runner
        assert not runner.plugins["bad"].enabled and runner.plugins["asyncp"].enabled
    failures = [r.getMessage() for r in caplog.records if "plugin bad: on_message raised" in
                r.getMessage()]
    assert len(failures) == 3  # disabled at the third: no calls after that
    # Each failure is logged with its traceback; plain def hooks run in the plugin's
    # threads side by side, so which three messages they were is not fixed.
    booms = {str(r.exc_info[1]) for r in caplog.records if r.exc_info}
    assert len(booms) == 3 and booms <= {f"boom: m{i}" for i in range(5)}
    disabled = [r.getMessage() for r in caplog.records if "disabled" in r.getMessage()]
    assert disabled == ["plugin bad disabled: 3 failures within 600s, the last in on_message"]


async def test_async_exception_is_charged_to_its_plugin(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with plugin_server({"abad": RAISES_ASYNC}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #x")
        await alice.expect("JOIN")
        await wait_until(lambda: "plugin abad: on_join raised an exception" in caplog.text)
    assert "async boom in #x" in caplog.text


async def test_background_task_runs_and_is_cancelled_at_disable(plugin_server: Any) -> None:
    async with plugin_server({"bg": BACKGROUND}) as h:
        ticks = h.module("bg").ticks
        await wait_until(lambda: len(ticks) > 3)
        runner = h.runner
        runner.disable(runner.plugins["bg"], "test")
        await trio.sleep(0.05)
        count = len(ticks)
        await trio.sleep(0.05)
        assert len(ticks) == count
