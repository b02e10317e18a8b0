"""welcome_bot under churn: the store reads for someone's greetings are given up when
that someone leaves (``api.for_nick``), not when the reads' budget runs out; a
greeting nobody will read must not keep the store waiting."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
import trio.testing
from trio.testing import MockClock

from tests.hooks.conftest import REPO_PLUGINS, plugin_config
from tests.hooks.test_budget_and_store import frozen_store_server
from tests.hooks.test_shipped_plugins import bot_says

HOOK_TIMEOUT = 60.0  # the reads' budget is half of it: 30 s of virtual time


async def test_the_greeting_reads_of_a_user_who_quits_end_with_the_quit(
    tmp_path: Path, mock_clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    overrides = plugin_config(REPO_PLUGINS, ["welcome_bot"],
                              {"welcome_bot": {"channels": ["#lobby"]}},
                              hook_timeout=HOOK_TIMEOUT)
    overrides["channels"] = {"auto_join": ["#lobby"]}
    async with frozen_store_server(tmp_path, overrides, mock_clock) as (runner, store,
                                                                         connect):
        stay = await connect("stay")
        await bot_says(stay, "WelcomeBot", 2)  # its greetings are done
        store.freeze()
        leaver = await connect("leaver")
        # Its welcome's and its #lobby join's reads wait on the frozen store.
        with trio.fail_after(1):
            while store.waiting < 2:
                await trio.sleep(0.001)
        began = trio.current_time()
        await leaver.send("QUIT :bye")
        await leaver.expect("ERROR")
        with trio.fail_after(HOOK_TIMEOUT):
            while store.waiting or runner.plugins["welcome_bot"].scopes:
                await trio.sleep(0.001)
        # Ended by the quit, well before the 30 s budget of a read.
        assert trio.current_time() - began < 1
        assert not runner._for_nick
        assert runner.plugins["welcome_bot"].enabled
        store.thaw()
        for client in (stay, leaver):
            await client.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert not any("plugin welcome_bot" in m and "unavailable" in m for m in messages), messages
