"""HELP and HELPOP (Modern IRC): 704/705/706 for every verb in the table, 524 otherwise.

The table checked here is the one a fully featured server has (history, accounts
and the shipped plugins installed), so a verb an extension or a plugin adds
without a help text fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.app import build_server
from ircish.core.server import Server
from ircish.protocol import Message
from ircish.testing import test_config as config_for
from tests.core.helpers import Client, Net, make_server, only

PLUGINS = Path(__file__).resolve().parents[2] / "ircish" / "plugins"


def full_server(base: Path) -> Server:
    config = config_for(base, {
        "storage": {"url": f"sqlite:///{base / 'history.db'}"},
        "plugins": {"dir": str(PLUGINS), "enabled": ["seen_bot", "welcome_bot"]},
    })
    # Built, not run: the features install their commands; no worker is started.
    return build_server(config).core


def full_verbs(base: Path) -> list[str]:
    return sorted(full_server(base).commands)


def check_help(lines: list[Message], subject: str) -> list[str]:
    """The reply is 704, 705..., 706, all naming ``subject``; returns the texts."""
    assert [m.command for m in lines[:1]] == ["704"], lines
    assert lines[-1].command == "706"
    assert all(m.command == "705" for m in lines[1:-1])
    assert all(m.params[1] == subject for m in lines), [m.params for m in lines]
    return [m.params[-1] for m in lines[1:-1]]


@pytest.mark.parametrize("verb", full_verbs(Path("/nonexistent")))
def test_every_command_in_the_table_has_a_topic(tmp_path: Path, verb: str) -> None:
    server = full_server(tmp_path)
    asker = Net(server).client("asker")
    texts = check_help(asker.send(f"HELP {verb.lower()}"), verb)
    # A usage line naming the verb, not a placeholder.
    assert any(verb in text for text in texts), (
        f"{verb} has no help: give its Command a help= text (core verbs: "
        "ircish/core/help_topics.py)")


def test_helpop_is_help_and_the_index_lists_the_table(tmp_path: Path) -> None:
    server = full_server(tmp_path)
    asker = Net(server).client("asker")
    index = check_help(asker.send("HELPOP"), "*")
    words = " ".join(index).split()
    assert set(server.commands) <= set(words)
    assert "!seen" in words
    assert check_help(asker.send("HELPOP PRIVMSG"), "PRIVMSG")


def test_plugin_commands_show_their_help_text(tmp_path: Path) -> None:
    asker = Net(full_server(tmp_path)).client("asker")
    assert "SEEN <nick>" in check_help(asker.send("HELP SEEN"), "SEEN")
    assert "!seen <nick>" in check_help(asker.send("HELP !seen"), "!seen")
    # The bot command's name without its prefix finds it too (SEEN is a verb, so
    # the verb wins there); an unknown bot command does not.
    assert only(asker.send("HELP !nosuch")).command == "524"


def test_unknown_subject_is_524(tmp_path: Path) -> None:
    asker = Net(make_server(tmp_path)).client("asker")
    reply = only(asker.send("HELP THISISNOTACOMMAND"))
    assert reply.command == "524" and reply.params[1] == "THISISNOTACOMMAND"
    spaced = only(asker.send("HELP :unknown subject"))
    assert spaced.command == "524" and spaced.params[1] == "*"


def test_oper_only_commands_say_so(tmp_path: Path) -> None:
    asker = Net(make_server(tmp_path)).client("asker")
    texts = check_help(asker.send("HELP KILL"), "KILL")
    assert "Only IRC operators may use it." in texts


def test_long_plugin_text_is_split_into_lines_that_fit(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.help_sources += (lambda: {"!long": "word " * 300},)
    asker = Client(server)
    asker.send("NICK asker", "USER a 0 * :A")
    asker.take()
    texts = check_help(asker.send("HELP !long"), "!long")
    assert len(texts) > 3  # Client.take asserts every line fits 512 bytes
    assert " ".join(texts).split() == ["word"] * 300


def test_a_bot_command_is_found_without_its_prefix_when_unambiguous(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.help_sources += (lambda: {"!roll": "!roll NdM", "!dup": "one", ".dup": "two"},)
    asker = Net(server).client("asker")
    assert "!roll NdM" in check_help(asker.send("HELP roll"), "!roll")
    assert only(asker.send("HELP dup")).command == "524"  # two bot commands are called dup
    assert check_help(asker.send("HELP .dup"), ".dup") == ["", "two"]
