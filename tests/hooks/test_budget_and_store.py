"""The message filter's time budget, and a history store that does not answer."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.conftest import REPO_PLUGINS, wait_until
from tests.hooks.test_shipped_plugins import bot_says, from_bot

# Far over a budget of 1 ms, every time.
SLOW_FILTER = '''
import time
from ircish.hooks import hookimpl

@hookimpl
def filter_message(text):
    time.sleep(0.02)
    return text.replace("darn", "d**n")
'''

# Lets a store timeout escape from its hook: still not its failure.
ASKS = '''
from ircish.hooks import HistoryUnavailable, hookimpl

asked = []

@hookimpl
async def on_welcome(api, nick, time):
    asked.append(nick)
    try:
        await api.history.last_seen(nick, before=time)
    except HistoryUnavailable:
        asked.append("unavailable " + nick)
        raise
    asked.append("answered " + nick)
'''


async def test_a_filter_over_its_budget_is_logged_and_counted(
    plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with plugin_server({"slowfilter": SLOW_FILTER}, filter_budget_ms=1,
                             max_failures=2) as h:
        alice = await h.client("alice")
        bob = await h.client("bob")
        for i in range(3):
            await bob.send(f"PRIVMSG alice :darn {i}")
            got = await alice.expect(lambda m: m.command == "PRIVMSG")
            # Its answer still counts while it is enabled; then it is gone.
            assert got.params[1] == (f"d**n {i}" if i < 2 else f"darn {i}")
        assert not h.runner.plugins["slowfilter"].enabled
    over = [r for r in caplog.records if "filter_budget_ms" in r.getMessage()]
    assert [r.levelno for r in over] == [logging.WARNING, logging.WARNING]
    assert over[0].getMessage().startswith("plugin slowfilter: filter_message took ")
    assert "over [plugins] filter_budget_ms = 1 " in over[0].getMessage()
    assert "(failure 1 of 2 allowed" in over[0].getMessage()
    assert any(r.getMessage() == "plugin slowfilter disabled: 2 failures within 600s, the "
               "last in filter_message" for r in caplog.records)


async def test_a_store_that_does_not_answer_is_not_the_plugins_failure(
    tmp_path: Path, plugin_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Both plugins from one dir: the shipped welcome_bot and a copy of ASKS.
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "welcome_bot.py").write_text((REPO_PLUGINS / "welcome_bot.py").read_text())
    config = {"storage": {"url": f"sqlite:///{tmp_path / 'history.db'}",
                          "flush_interval_ms": 10},
              "channels": {"auto_join": ["#lobby"]}}
    async with plugin_server({"asks": ASKS}, ["welcome_bot", "asks"],
                             {"welcome_bot": {"channels": ["#lobby"]}}, directory=folder,
                             config=config, hook_timeout=0.4, max_failures=2) as h:
        store = h.srv.owner("history").store
        first = await h.client("first")  # the first client's greeting is another one
        await bot_says(first, "WelcomeBot", 2)
        # The first look-up is answered before the store freezes (the greeting may
        # come first: the two plugins' hooks run side by side).
        asked = h.module("asks").asked
        await wait_until(lambda: asked[:2] == ["first", "answered first"])
        # A real store that stops answering: its worker process is frozen.
        os.kill(store.pid, signal.SIGSTOP)
        try:
            for i in range(4):
                client = await h.client(f"new{i}")
                # Without the history, the plain greetings.
                assert await bot_says(client, "WelcomeBot", 2) == {
                    ("NOTICE", f"new{i}", f"Welcome to ircish, new{i}!"),
                    ("NOTICE", f"new{i}", f"Hello new{i}, welcome to #lobby!")}
            await wait_until(lambda: len(asked) == 10)
            assert asked[2:] == [x for i in range(4) for x in (f"new{i}", f"unavailable new{i}")]
        finally:
            os.kill(store.pid, signal.SIGCONT)
        assert h.runner.plugins["welcome_bot"].enabled
        assert h.runner.plugins["asks"].enabled
        # Thawed, the store catches up and answers again (a busy machine may need
        # a few tries within the read's time limit).
        for i in range(20):
            late = await h.client(f"late{i}")
            await late.expect(from_bot("WelcomeBot"))
            outcome = await wait_until(lambda i=i: next(
                (x for x in asked if x.endswith(f" late{i}")), None))
            if outcome.startswith("answered"):
                break
        assert asked[:2] == ["first", "answered first"]
        assert h.runner.plugins["asks"].enabled
    messages = [r.getMessage() for r in caplog.records]
    assert not any("allowed within" in m or " disabled: " in m for m in messages), messages
    unavailable = [m for m in messages if "history store unavailable" in m]
    assert len(unavailable) == 1  # one line for the episode, not one per read
    assert any(m.startswith("history store answers plugins again") for m in messages)


@pytest.mark.parametrize("key", ["filter_budget_ms", "hook_timeout"])
def test_budgets_must_be_positive(tmp_path: Path, key: str) -> None:
    from ircish.config import ConfigError
    from ircish.testing import test_config

    with pytest.raises(ConfigError, match=f"plugins.{key}: must be greater than zero"):
        test_config(tmp_path, {"plugins": {key: 0}})
