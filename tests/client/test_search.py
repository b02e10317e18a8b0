"""/search (soju.im/search) on the client's side, without a server: what is typed, the
SEARCH line sent, and the window the answer's batch fills."""

from __future__ import annotations

import pytest

from ircish.client import search
from ircish.client.model import BufferKind
from tests.client.test_irssi import HISTORY_CAPS, SIZE, Screen

SEARCH_CAPS = HISTORY_CAPS + " soju.im/search"


def test_parse_defaults_to_the_current_window_and_takes_options() -> None:
    assert search.parse("hello world", "#lobby") == search.Query("hello world", "#lobby")
    assert search.parse("-in #dev -from bob fix", "#lobby") == search.Query("fix", "#dev", "bob")
    assert search.parse("-all -limit 5 fix", "#lobby") == search.Query("fix", None, None, 5)
    assert search.parse("-from bob", None) == search.Query("", None, "bob")
    # Options come first; after the text (or after --) a dash is just text.
    assert search.parse("x -in y", "#a") == search.Query("x -in y", "#a")
    assert search.parse("-- -all", "#a") == search.Query("-all", "#a")
    for bad, said in [
        ("", "Search for what?"),
        ("-in", "-in needs a value"),
        ("-limit 0 x", "-limit takes a number above 0"),
        ("-limit many x", "-limit takes a number above 0"),
        ("-since today x", "Unknown option -since"),
    ]:
        with pytest.raises(search.SearchUsage, match=said):
            search.parse(bad, "#lobby")


def test_attributes_escape_values_as_message_tags() -> None:
    query = search.Query("two words; a\\b", "#dev", "bob", 20)
    assert search.attributes(query) == r"in=#dev;from=bob;text=two\swords\:\sa\\b;limit=20"
    assert search.attributes(search.Query("x")) == "text=x;limit=50"


def test_the_capability_is_requested_when_offered() -> None:
    ui = Screen()
    ui.sent.clear()
    ui.session.connection_made(ui.sent.append)
    ui.server(":srv CAP * LS :batch server-time soju.im/search sasl")
    assert "CAP REQ :server-time batch soju.im/search" in ui.sent


def test_search_fills_its_own_window_with_time_place_and_sender() -> None:
    ui = Screen(SEARCH_CAPS)
    ui.type("/search deploy friday")
    assert ui.sent[-1] == r"SEARCH in=#lobby;text=deploy\sfriday;limit=50"
    ui.server(
        ":srv BATCH +s soju.im/search",
        "@batch=s;time=2026-11-30T10:05:00.000Z;msgid=m2 :ada!u@h PRIVMSG bob :deploy friday?",
        "@batch=s;time=2026-11-29T09:00:00.000Z;msgid=m1 "
        ":bob!b@h PRIVMSG #lobby :\x02deploy\x02 on friday, ada",
        "@batch=s;time=2026-11-30T11:00:00.000Z "
        ":carol!c@h PRIVMSG ada :\x01ACTION deploys friday\x01",
        "@batch=s;time=2026-11-30T12:00:00.000Z :evil!e@h PRIVMSG ada :\x01VERSION\x01",
        ":srv BATCH -s",
    )
    buffer = ui.buffers.current
    assert buffer.kind is BufferKind.SEARCH and buffer.name == search.SEARCH_BUFFER
    screen = ui.screen((100, 20))
    rows = [row.strip() for row in screen.splitlines()]
    assert "Search in #lobby for 'deploy friday':" in screen
    assert "── Sunday 2026-11-29 ──" in rows
    order = [
        screen.index("#lobby <bob> deploy on friday, ada"),
        screen.index("── Monday 2026-11-30 ──"),
        screen.index("bob (private) <ada> deploy friday?"),  # under the other person
        screen.index("carol (private) * carol deploys friday"),
        screen.index("3 messages found"),
    ]
    assert order == sorted(order)
    assert "VERSION" not in screen and not any("VERSION" in line for line in ui.sent)
    # Old lines: no bell for the highlight in them, no query windows opened, not unread.
    assert ui.terminal == []
    assert ui.buffers.get("carol") is None and ui.buffers.get("bob") is None
    assert buffer.unread == 0

    # A new search replaces the window's lines; PageUp there asks no history.
    ui.type("/search -all -from bob -limit 1 deploy")
    assert ui.sent[-1] == "SEARCH from=bob;text=deploy;limit=1"
    ui.server(
        ":srv BATCH +t soju.im/search",
        "@batch=t;time=2026-11-29T09:00:00.000Z :bob!b@h PRIVMSG #lobby :deploy",
        ":srv BATCH -t",
    )
    screen = ui.screen((100, 20))
    assert "Search everywhere from bob for 'deploy':" in screen
    assert "1 message found (the limit of 1: -limit N for more)" in screen
    assert "deploy friday?" not in screen
    ui.sent.clear()
    ui.window.keypress(SIZE, "page up")
    ui.window.keypress(SIZE, "page up")
    assert not any(line.startswith("CHATHISTORY") for line in ui.sent)
    ui.type("hello?")
    assert "This is the search window" in ui.screen((100, 20))
    assert not any(line.startswith("PRIVMSG") for line in ui.sent)


def test_no_results_and_a_failed_search_say_so() -> None:
    ui = Screen(SEARCH_CAPS)
    ui.type("/search nothing")
    ui.server(":srv BATCH +e soju.im/search", ":srv BATCH -e")
    assert ui.texts(search.SEARCH_BUFFER)[-1] == "No messages match"
    ui.type("/window 2")
    ui.type("/search -in #secret x")
    ui.server(":srv FAIL SEARCH INVALID_PARAMS in :You may not read #secret")
    errors = [line.text for line in ui.buffers.current.lines if line.kind == "error"]
    said = "Search in #secret for 'x' failed: You may not read #secret (INVALID_PARAMS in)"
    assert errors == [said]


def test_a_server_without_search_gets_a_clear_message_and_no_line() -> None:
    ui = Screen(HISTORY_CAPS)
    ui.sent.clear()
    ui.type("/search hello")
    assert ui.sent == []
    errors = [line.text for line in ui.buffers.current.lines if line.kind == "error"]
    assert errors and errors[-1].startswith("This server does not offer search (no soju.im/search")
    ui.session.connection_lost("gone")
    ui.type("/search hello")
    assert ui.buffers.current.lines[-1].text == "Not connected."
    ui.type("/search -limit")
    assert ui.buffers.current.lines[-1].text.startswith("-limit needs a value")


def test_ignored_senders_stay_out_of_the_results() -> None:
    ui = Screen(SEARCH_CAPS)
    ui.type("/ignore *!*@spam.example")
    ui.type("/search cheap")
    ui.server(
        ":srv BATCH +s soju.im/search",
        "@batch=s;time=2026-11-29T09:00:00.000Z :spammer!s@spam.example PRIVMSG #lobby :cheap",
        "@batch=s;time=2026-11-29T09:01:00.000Z :bob!b@h PRIVMSG #lobby :cheap flights, spam",
        ":srv BATCH -s",
    )
    chat = [line.nick for line in ui.buffers.current.lines if line.kind == "message"]
    assert chat == ["bob"]
    assert ui.texts(search.SEARCH_BUFFER)[-1] == "1 message found"
