"""Gaps found by using the client as an irssi user would, against a running ircish:
query windows' read markers, a query opened again, replies to typed commands, away."""

from __future__ import annotations

from ircish.client.numerics import when
from tests.client.test_irssi import HISTORY_CAPS, SIZE, Screen


def test_a_query_window_asks_for_its_read_marker_and_draws_the_line() -> None:
    ui = Screen(HISTORY_CAPS)
    ui.type("/query ivan")
    asked = [line for line in ui.sent if "ivan" in line.split()]
    assert asked == ["MARKREAD ivan", "CHATHISTORY LATEST ivan * 50"]
    ui.type("/window 2")  # back to #lobby: the server answers while ivan is not in front
    ui.server(
        ":srv MARKREAD ivan timestamp=2026-11-30T10:00:30.000Z",
        ":srv BATCH +h chathistory ivan",
        "@batch=h;time=2026-11-30T10:00:00.000Z;msgid=i1 :ivan!i@h PRIVMSG ada :seen this",
        "@batch=h;time=2026-11-30T10:01:00.000Z;msgid=i2 :ivan!i@h PRIVMSG ada :not this",
        ":srv BATCH -h",
    )
    ui.type("/window ivan")
    screen = ui.screen()
    assert screen.index("seen this") < screen.index("last read") < screen.index("not this")


def test_query_markers_are_asked_for_after_a_reconnect_without_chathistory() -> None:
    ui = Screen("server-time draft/read-marker")
    ui.type("/query ivan")
    assert ui.sent[-1] == "MARKREAD ivan"
    ui.session.connection_lost("gone")
    ui.sent.clear()
    ui.connect("server-time draft/read-marker")
    assert "MARKREAD ivan" in ui.sent
    assert not any(line.startswith("CHATHISTORY") for line in ui.sent)


def test_a_query_closed_and_opened_again_asks_for_its_history_again() -> None:
    ui = Screen(HISTORY_CAPS)
    ui.type("/query ivan")
    ui.type("/close")
    ui.sent.clear()
    ui.server(":ivan!i@h PRIVMSG ada :are you there?")
    assert ui.sent == ["MARKREAD ivan", "CHATHISTORY LATEST ivan * 50"]
    ui.sent.clear()
    ui.type("/query ivan")  # the same window: asked once (focusing it marks it read)
    assert [line for line in ui.sent if not line.startswith("MARKREAD ivan timestamp=")] == []


def test_replies_to_typed_time_userhost_ison_and_mode_errors_are_readable() -> None:
    ui = Screen()
    ui.server(
        ":srv 391 ada irc.test 1796136882 0 :Tuesday December 01 2026 -- 14:54:42 +00:00",
        ":srv 391 ada old.server :Tuesday December 1 2026",
        ":srv 302 ada :bob=+~b@host.example oper*=-~o@op.example",
        ":srv 303 ada :bob",
        ":srv 696 ada #lobby k * :You must specify a parameter for the key mode",
        ":srv 265 ada 4 5 :Current local users 4, max 5",
    )
    lobby = ui.texts("#lobby")
    for text in [
        "Time on irc.test: Tuesday December 01 2026 -- 14:54:42 +00:00",
        "Time on old.server: Tuesday December 1 2026",
        "bob is ~b@host.example; oper is ~o@op.example (operator, away)",
        "Online: bob",
        "#lobby k *: You must specify a parameter for the key mode",
    ]:
        assert text in lobby, text
    errors = [line.text for line in ui.buffers.current.lines if line.kind == "error"]
    assert errors == ["#lobby k *: You must specify a parameter for the key mode"]
    assert "Current local users 4, max 5" in ui.texts("*")
    assert not any(when("1796136882") in text for text in lobby)


def test_ban_lookups_still_take_userhost_replies() -> None:
    ui = Screen()
    ui.type("/ban zed")
    assert ui.sent[-1] == "USERHOST zed"
    ui.server(":srv 302 ada :zed=+~z@zed.example")
    assert ui.sent[-1] == "MODE #lobby +b *!*@zed.example"
    assert not any("zed is" in text for text in ui.texts("#lobby"))


def test_the_away_message_is_set_again_after_a_reconnect() -> None:
    ui = Screen()
    ui.type("/away gone fishing")
    assert ui.sent[-1] == "AWAY :gone fishing"
    ui.server(":srv 306 ada :You have been marked as being away")
    ui.session.connection_lost("gone")
    ui.sent.clear()
    ui.connect()
    assert "AWAY :gone fishing" in ui.sent
    ui.type("/away")
    assert ui.sent[-1] == "AWAY"


def test_page_up_in_the_list_window_asks_no_history() -> None:
    ui = Screen(HISTORY_CAPS)
    ui.type("/list")
    ui.server(":srv 321 ada Channel :Users Name", ":srv 322 ada #lobby 3 :hi", ":srv 323 ada :End")
    ui.sent.clear()
    ui.window.keypress(SIZE, "page up")
    ui.window.keypress(SIZE, "page up")
    assert not any(line.startswith("CHATHISTORY") for line in ui.sent)


def test_counts_of_one_read_as_english() -> None:
    ui = Screen()
    ui.server(":ada!u@h JOIN #dev", ":srv 353 ada = #dev :@ada", ":srv 366 ada #dev :End")
    ui.type("/window #dev")
    assert ui.screen().splitlines()[0].startswith("#dev [1 user] ")
    assert "1 user on #dev (1 op)" in ui.texts("#dev")
    ui.type("/list")
    ui.server(":srv 322 ada #dev 1 :", ":srv 323 ada :End")
    assert ui.texts("-list-")[-1].startswith("1 channel sorted by users")


def test_private_history_from_an_older_nick_stays_in_the_query_and_no_ctcp_is_answered() -> None:
    ui = Screen(HISTORY_CAPS)
    ui.server(":ada!u@h NICK ada_")  # the account's history still says "ada"
    ui.type("/query bob")
    ui.sent.clear()
    ui.server(
        ":srv BATCH +h chathistory bob",
        "@batch=h;time=2026-11-30T10:00:00.000Z;msgid=b1 :ada!u@h PRIVMSG bob :from my old nick",
        "@batch=h;time=2026-11-30T10:01:00.000Z;msgid=b2 :bob!b@h PRIVMSG ada :\x01VERSION\x01",
        "@batch=h;time=2026-11-30T10:02:00.000Z;msgid=b3 :bob!b@h PRIVMSG ada :hi ada",
        ":srv BATCH -h",
    )
    assert ui.buffers.get("ada") is None
    bob = ui.buffers.get("bob")
    assert bob is not None
    assert [(line.text, line.own) for line in bob.lines] == [
        ("from my old nick", True),
        ("hi ada", False),
    ]
    assert not any(line.startswith("NOTICE") for line in ui.sent)
    # A live CTCP is still answered.
    ui.server(":bob!b@h PRIVMSG ada_ :\x01VERSION\x01")
    assert ui.sent[-1].startswith("NOTICE bob :\x01VERSION ircish-client")


def test_a_channel_closed_while_disconnected_is_not_joined_again() -> None:
    ui = Screen()
    ui.server(":ada!u@h JOIN #dev", ":srv 366 ada #dev :End")
    ui.session.connection_lost("gone")
    ui.type("/window #dev")
    ui.type("/close")
    ui.sent.clear()
    ui.session.connection_made(ui.sent.append)
    ui.server(":srv 001 ada :Welcome")
    assert [line for line in ui.sent if line.startswith("JOIN")] == ["JOIN #lobby"]
    assert ui.buffers.get("#dev") is None


def test_window_alone_lists_the_windows_and_window_close_closes() -> None:
    ui = Screen()
    ui.type("/query ivan")
    ui.type("/window")
    assert ui.texts("ivan")[-1] == "Windows: 1:irc.test 2:#lobby 3:ivan"
    ui.type("/window close")
    assert ui.buffers.get("ivan") is None
