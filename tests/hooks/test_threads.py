"""Plain ``def`` hooks run in worker threads: a blocking plugin never stalls the chat."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.hooks.conftest import wait_until

# Blocks in on_message until the test opens the gate (or 10 s pass).
GATED = '''
import threading
from ircish.hooks import hookimpl

gate = threading.Event()
entered = []
finished = []
in_thread = []

@hookimpl
def on_message(text, from_bot):
    if from_bot:
        return
    entered.append(text)
    in_thread.append(threading.current_thread() is not threading.main_thread())
    gate.wait(10)
    finished.append(text)
'''

# Slow but within hook_timeout.
SLOW = '''
import time
from ircish.hooks import hookimpl

done = []

@hookimpl
def on_message(text, from_bot):
    if not from_bot:
        time.sleep(0.1)
        done.append(text)
'''

# Blocks past hook_timeout until released; then tries to speak, too late.
STUCK = '''
import threading
from ircish.hooks import hookimpl

release = threading.Event()
entered = []
late = []

@hookimpl
def on_message(api, text, from_bot):
    if from_bot:
        return
    entered.append(text)
    release.wait(10)
    try:
        api.bot("Late").say("alice", "too late: " + text)
    except Exception as exc:
        late.append(type(exc).__name__)
'''

# Speaks and reads server state from its thread.
SPEAKS = '''
import threading
from ircish.hooks import hookimpl

seen = []

@hookimpl
def on_server_start(api):
    api.bot("Parrot").join("#chat")

@hookimpl
def on_message(api, nick, target, text, from_bot):
    if from_bot or not text.startswith("say "):
        return
    user = api.user(nick)
    channel = api.channel(target)
    seen.append((threading.current_thread() is threading.main_thread(), user.nick,
                 channel.has(nick), sorted(channel.members)))
    api.bot("Parrot").say(target, text[4:] + " (from " + user.nick + ")")
'''


async def chat_line(sender: Any, receiver: Any, text: str) -> None:
    await sender.send(f"PRIVMSG {receiver.nick} :{text}")
    got = await receiver.expect(lambda m: m.command == "PRIVMSG" and m.params[1] == text)
    assert got.source.startswith(sender.nick)


async def test_a_blocked_hook_does_not_stall_the_chat(plugin_server: Any) -> None:
    async with plugin_server({"gated": GATED, "slow": SLOW}, hook_timeout=30.0) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        gated, slow = h.module("gated"), h.module("slow")
        try:
            await bob.send("PRIVMSG alice :first")
            await wait_until(lambda: "first" in gated.entered)
            # While the hook is blocked, the pair goes on chatting.
            for i in range(5):
                await chat_line(alice, bob, f"a{i}")
                await chat_line(bob, alice, f"b{i}")
            await alice.send("PING still-here")
            await alice.expect(lambda m: m.command == "PONG" and m.params[-1] == "still-here")
            assert gated.finished == []  # all of that happened while it was blocked
            # Its first few calls each hold one of its threads.
            assert gated.entered[0] == "first" and all(gated.in_thread)
        finally:
            gated.gate.set()
        await wait_until(lambda: len(gated.finished) == 11)
        await wait_until(lambda: len(slow.done) == 11)
        assert h.runner.plugins["slow"].enabled and h.runner.plugins["gated"].enabled


async def test_a_hook_past_its_timeout_is_abandoned_counted_and_disabled(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with plugin_server({"stuck": STUCK, "slow": SLOW}, hook_timeout=0.3,
                             max_failures=2) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        stuck = h.module("stuck")
        try:
            for i in range(2):
                await chat_line(bob, alice, f"m{i}")
            await wait_until(lambda: not h.runner.plugins["stuck"].enabled)
            await chat_line(alice, bob, "after")
        finally:
            stuck.release.set()
        # The abandoned threads' late calls are refused, not run.
        await wait_until(lambda: len(stuck.late) == 2)
        assert stuck.late == ["HookAbandoned", "HookAbandoned"]
        await wait_until(lambda: len(h.module("slow").done) == 3)
        assert h.runner.plugins["slow"].enabled
        await alice.send("PING sync")
        got = await alice.expect(lambda m: m.command in ("PONG", "PRIVMSG"))
        assert got.command == "PONG"  # "too late" never arrived
    messages = [r.getMessage() for r in caplog.records]
    timeouts = [m for m in messages if m.startswith("plugin stuck: on_message timed out "
                                                    "after 0.3s in its thread")]
    assert len(timeouts) == 2
    assert "plugin stuck disabled: 2 failures within 600s, the last in on_message" in messages
    assert not any(m.startswith("plugin slow:") for m in messages)
    assert any("called PluginAPI.bot after it was abandoned" in m for m in messages)


async def test_api_calls_from_a_thread_are_carried_to_the_loop(plugin_server: Any) -> None:
    async with plugin_server({"speaks": SPEAKS}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #chat")
        await alice.expect(lambda m: m.command == "JOIN")
        await alice.send("PRIVMSG #chat :say hello")
        said = await alice.expect(lambda m: m.command == "PRIVMSG")
        assert said.source.startswith("Parrot!")
        assert said.params == ["#chat", "hello (from alice)"]
        assert h.module("speaks").seen == [(False, "alice", True, ["Parrot", "alice"])]
