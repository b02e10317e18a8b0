"""Bots' lines in history (is_bot, the bot tag, left out of replay), kinds= on
history reads, api.data_dir and api.path, !help to a bot, and the welcome bot's
private greetings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.history.conftest import with_history
from tests.hooks.conftest import REPO_PLUGINS, wait_until
from tests.hooks.test_shipped_plugins import bot_says, from_bot

PARROT = """
    from ircish.hooks import BotCommand, hookimpl

    looked = []

    @hookimpl
    def on_server_start(api):
        api.bot("Parrot").join("#lobby")

    async def say(text, reply):
        reply(text)

    async def look(api, channel):
        every = await api.history.latest(channel, 50)
        said = await api.history.latest(channel, 50, kinds={"PRIVMSG"})
        looked.append(([(line.kind, line.nick) for line in every],
                       [(line.nick, line.text, line.is_bot) for line in said]))

    async def files(api, reply):
        (api.data_dir / "notes.txt").write_text("kept")
        reply(f"{api.data_dir} {api.path(api.config['words'])} {api.path('/abs/x')}")

    @hookimpl
    def register_commands(api):
        return [BotCommand("say", say, bot="Parrot", help="!say <text>: I repeat it."),
                BotCommand("look", look, bot="Parrot"),
                BotCommand("files", files, bot="Parrot", help="!files: where my files are.")]
"""


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "store"])
async def test_bot_lines_are_marked_and_kinds_filters_reads(
    plugin_server: Any, stored: bool,
) -> None:
    config = with_history() if stored else {}
    async with plugin_server({"parrot": PARROT}, config=config) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #lobby")
        await alice.expect("366")
        await alice.send("PRIVMSG #lobby :!say polly")
        await alice.expect(lambda m: from_bot("Parrot")(m) and m.params[-1] == "polly")
        await alice.send("PRIVMSG #lobby :!look")
        looked = await wait_until(lambda: h.module("parrot").looked)
        every, said = looked[0]
        assert ("JOIN", "alice") in every
        assert said == [("alice", "!say polly", False), ("Parrot", "polly", True),
                        ("alice", "!look", False)]


async def test_kinds_must_be_known(plugin_server: Any) -> None:
    source = """
        from ircish.hooks import hookimpl
        problems = []

        @hookimpl
        async def on_join(api, channel):
            try:
                await api.history.latest(channel, 5, kinds={"PRIVMSG", "SHOUT"})
            except ValueError as exc:
                problems.append(str(exc))
    """
    async with plugin_server({"reader": source}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #x")
        problems = await wait_until(lambda: h.module("reader").problems)
        assert "SHOUT" in problems[0]


async def test_bot_lines_carry_the_bot_tag_and_stay_out_of_replay(plugin_server: Any) -> None:
    async with plugin_server({"parrot": PARROT}, config=with_history()) as h:
        alice = await h.client("alice", ["echo-message"])
        await alice.send("JOIN #lobby")
        await alice.expect("366")
        for text in ("!say polly", "human line"):
            await alice.send(f"PRIVMSG #lobby :{text}")
            await alice.expect(lambda m, t=text: m.command == "PRIVMSG" and m.params[-1] == t)
        # The bot's answer may come before or after the echo of "human line".
        said_polly = lambda m: from_bot("Parrot")(m) and m.params[-1] == "polly"  # noqa: E731
        if not any(said_polly(m) for m in alice.seen):
            await alice.expect(said_polly)
        tagged = await h.client("tagged", ["batch", "message-tags", "server-time",
                                           "draft/chathistory"])
        await tagged.send("JOIN #lobby")
        await tagged.expect("366")
        await tagged.send("CHATHISTORY LATEST #lobby * 10")
        await tagged.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
        lines = {m.params[-1]: m.tags for m in tagged.seen if m.command == "PRIVMSG"}
        assert "bot" in lines["polly"] and "bot" not in lines["human line"]
        plain = await h.client("plain", ["server-time"])
        await plain.send("JOIN #lobby")
        await plain.expect(lambda m: m.command == "NOTICE" and "end of replay" in m.params[-1])
        replayed = [m.params[-1] for m in plain.seen if m.command == "PRIVMSG"]
        assert replayed == ["!say polly", "human line"]


async def test_bot_lines_are_replayed_when_configured(plugin_server: Any) -> None:
    config = with_history({"history": {"replay_bots": True}})
    async with plugin_server({"parrot": PARROT}, config=config) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #lobby")
        await alice.expect("366")
        await alice.send("PRIVMSG #lobby :!say polly")
        await alice.expect(lambda m: from_bot("Parrot")(m) and m.params[-1] == "polly")
        plain = await h.client("plain", ["server-time", "message-tags"])
        await plain.send("JOIN #lobby")
        await plain.expect(lambda m: m.command == "NOTICE" and "end of replay" in m.params[-1])
        replayed = {m.params[-1]: m.tags for m in plain.seen if m.command == "PRIVMSG"}
        assert list(replayed) == ["!say polly", "polly"] and "bot" in replayed["polly"]


async def test_data_dir_and_paths_are_next_to_the_config(plugin_server: Any) -> None:
    settings = {"parrot": {"words": "lists/words.txt"}}
    async with plugin_server({"parrot": PARROT}, settings=settings) as h:
        alice = await h.client("alice")
        await alice.send("PRIVMSG Parrot :files")
        answer = await alice.expect(from_bot("Parrot"))
        base = h.srv.core.config.base_dir
        data = base / "plugin-data" / "parrot"
        assert answer.params[-1] == f"{data} {base / 'lists' / 'words.txt'} /abs/x"
        assert (data / "notes.txt").read_text() == "kept"


async def test_help_to_a_bot_lists_its_commands_and_explains_one(plugin_server: Any) -> None:
    async with plugin_server({"parrot": PARROT}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #lobby")
        await alice.expect("366")
        await alice.send("PRIVMSG #lobby :!help")
        listed = await alice.expect(from_bot("Parrot"))
        assert listed.command == "NOTICE" and listed.params[0] == "alice"
        assert listed.params[1] == ("My commands: !files, !look, !say. Say !help <command> "
                                    "for one of them.")
        await alice.send("PRIVMSG Parrot :help say")
        assert (await alice.expect(from_bot("Parrot"))).params[1] == "!say <text>: I repeat it."
        await alice.send("PRIVMSG #lobby :!help !look")
        assert (await alice.expect(from_bot("Parrot"))).params[1] == (
            "!look: a command of the plugin parrot.")


async def test_welcome_bot_greets_in_public_when_asked(plugin_server: Any) -> None:
    settings = {"welcome_bot": {"channels": ["#lobby"], "public_join_greeting": True,
                                "first_greeting": ""}}
    async with plugin_server({}, ["welcome_bot"], settings, directory=REPO_PLUGINS,
                             config={"channels": {"auto_join": ["#lobby"]}}) as h:
        alice = await h.client("alice")
        assert await bot_says(alice, "WelcomeBot", 2) == {
            ("NOTICE", "alice", "Welcome to ircish, alice!"),
            ("PRIVMSG", "#lobby", "Hello alice, welcome to #lobby!"),
        }


def test_welcome_bot_counts_in_words() -> None:
    from ircish.plugins.welcome_bot import messages_said

    assert [messages_said(n) for n in (0, 1, 2)] == [
        "No messages were said", "1 message was said", "2 messages were said"]
