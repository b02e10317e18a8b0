"""The message filter's time budget, and a history store that does not answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from trio.testing import MockClock

from ircish.hooks.service import plugins_feature
from ircish.net.app import IrcServer
from ircish.testing import start_server
from ircish.testing import test_config as config_for
from tests.hooks.conftest import REPO_PLUGINS, plugin_config, write_plugin
from tests.hooks.test_shipped_plugins import bot_says, from_bot
from tests.ircclient import RawClient

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


class FrozenStore:
    """The history store as ``api.history`` reaches it (``ask``), in this process: while
    open it answers at once, as an empty store does; frozen, every read waits until it
    thaws, as one whose worker process is stopped does (the runner's own deadline is all
    that ends such a read). Being in-process, nothing here takes time the test did not
    give it: the clock moves only when every task waits."""

    def __init__(self) -> None:
        self.frozen = False
        self.waiting = 0
        self._thawed = trio.Event()

    async def ask(self, *requests: Any) -> list[Any]:
        await trio.lowlevel.checkpoint()
        while self.frozen:
            self.waiting += 1
            try:
                await self._thawed.wait()
            finally:
                self.waiting -= 1
        return [[] for _ in requests]

    def freeze(self) -> None:
        self.frozen = True
        self._thawed = trio.Event()

    def thaw(self) -> None:
        self.frozen = False
        self._thawed.set()


@asynccontextmanager
async def frozen_store_server(
    tmp_path: Path, overrides: dict[str, Any], mock_clock: MockClock
) -> AsyncIterator[tuple[Any, FrozenStore, Callable[[str], Awaitable[RawClient]]]]:
    """A server whose plugins read history from a ``FrozenStore``, on virtual time
    (it stands still while the server starts, then jumps only when every task
    waits): its hook runner, the store, and a way to connect a registered client over
    a memory stream."""
    store = FrozenStore()
    app = IrcServer(config_for(tmp_path, overrides),
                    [partial(plugins_feature, history_reader=store)])
    async with start_server(tmp_path, app=app) as srv, trio.open_nursery() as clients:
        mock_clock.autojump_threshold = 0

        async def connect(nick: str) -> RawClient:
            ours, theirs = trio.testing.memory_stream_pair()
            clients.start_soon(app.serve_client, theirs, "127.0.0.1", False)
            client = RawClient(ours)
            await client.register(nick)
            return client

        yield srv.owner("plugins"), store, connect
        clients.cancel_scope.cancel()


async def test_a_store_that_does_not_answer_is_not_the_plugins_failure(
    tmp_path: Path, mock_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Deterministic: virtual time (it stands still while the server starts, whose
    # on_server_start hooks run in threads, then jumps only when every task waits),
    # clients on memory streams and a store in this process. The reads' budget (half
    # of hook_timeout) is then spent only while a read really waits, never by a slow
    # machine: before, a real worker process had 0.2 s of wall time to answer.
    caplog.set_level(logging.INFO)
    # Both plugins from one dir: the shipped welcome_bot and a copy of ASKS.
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "welcome_bot.py").write_text((REPO_PLUGINS / "welcome_bot.py").read_text())
    write_plugin(folder, "asks", ASKS)
    overrides = plugin_config(folder, ["welcome_bot", "asks"],
                              {"welcome_bot": {"channels": ["#lobby"]}}, hook_timeout=0.4,
                              max_failures=2)
    overrides["channels"] = {"auto_join": ["#lobby"]}
    async with frozen_store_server(tmp_path, overrides, mock_clock) as (runner, store,
                                                                         connect):
        asked = runner.plugins["asks"].plugin.asked
        first = await connect("first")  # the first client's greeting is another one
        await bot_says(first, "WelcomeBot", 2)
        await trio.testing.wait_all_tasks_blocked()
        assert asked == ["first", "answered first"]
        store.freeze()
        for i in range(4):
            client = await connect(f"new{i}")
            # Without the history, the plain greetings, once the reads' budget is spent.
            assert await bot_says(client, "WelcomeBot", 2) == {
                ("NOTICE", f"new{i}", f"Welcome to ircish, new{i}!"),
                ("NOTICE", f"new{i}", f"Hello new{i}, welcome to #lobby!")}
            await trio.testing.wait_all_tasks_blocked()
            assert asked[-2:] == [f"new{i}", f"unavailable new{i}"]
            assert store.waiting == 0  # the runner gave up on every read
        assert asked[2:] == [x for i in range(4) for x in (f"new{i}", f"unavailable new{i}")]
        # Twelve reads given up (four clients: asks' on_welcome, welcome_bot's on_welcome
        # and on_join), max_failures 2: not the plugins' failures.
        assert runner.plugins["welcome_bot"].enabled
        assert runner.plugins["asks"].enabled
        store.thaw()
        late = await connect("late")
        await late.expect(from_bot("WelcomeBot"))
        await trio.testing.wait_all_tasks_blocked()
        assert asked[-2:] == ["late", "answered late"]
        assert runner.plugins["asks"].enabled
        for client in (first, late):
            await client.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert not any("allowed within" in m or " disabled: " in m for m in messages), messages
    unavailable = [m for m in messages if "history store unavailable" in m]
    assert len(unavailable) == 1  # one line for the episode, not one per read
    assert any(m.startswith("history store answers plugins again (12 reads went unanswered)")
               for m in messages), messages


@pytest.mark.parametrize("key", ["filter_budget_ms", "hook_timeout"])
def test_budgets_must_be_positive(tmp_path: Path, key: str) -> None:
    from ircish.config import ConfigError
    from ircish.testing import test_config

    with pytest.raises(ConfigError, match=f"plugins.{key}: must be greater than zero"):
        test_config(tmp_path, {"plugins": {key: 0}})
