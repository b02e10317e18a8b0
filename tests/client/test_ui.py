"""The full-screen view, headless: key presses in, rendered rows out."""

from __future__ import annotations

import pytest
import urwid

from ircish.client import model
from ircish.client.commands import COMMANDS, Context, run_input
from ircish.client.model import Buffers
from ircish.client.session import Identity, Session
from ircish.client.widgets import ChatWindow

urwid.set_encoding("utf8")

SIZE = (80, 16)


class Harness:
    """A window wired to a session whose network is a list of sent lines."""

    def __init__(self, caps: str = "") -> None:
        self.buffers = Buffers("irc.test")
        self.session = Session(Identity("ada"), self.buffers, ["#lobby"])
        self.sent: list[str] = []
        self.quit_reason: str | None = None
        ctx = Context(self.session, self.buffers, self._quit)
        self.window = ChatWindow(
            self.buffers,
            own_nick=lambda: self.session.nick,
            on_submit=lambda text: run_input(ctx, text),
            on_scroll_top=self.session.request_older,
            commands=lambda: sorted(COMMANDS),
            online=lambda: self.session.registered,
        )
        self.buffers.listener = self.window
        self.session.connection_made(self.sent.append)
        if caps:
            self.server(f":srv CAP * LS :{caps}", f":srv CAP * ACK :{caps}")
        self.server(":srv 001 ada :Welcome", ":ada!u@h JOIN #lobby")
        self.server(":srv 353 ada = #lobby :@ada bob +carol grace greg")
        self.server(":srv 366 ada #lobby :End")

    def _quit(self, reason: str) -> None:
        self.quit_reason = reason

    def server(self, *lines: str) -> None:
        for line in lines:
            self.session.handle_line(line)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.window.keypress(SIZE, key)

    def type(self, text: str, enter: bool = True) -> None:
        self.keys(*text)
        if enter:
            self.keys("enter")

    def rows(self, size: tuple[int, int] = SIZE) -> list[str]:
        canvas = self.window.render(size, focus=True)
        return [row.decode("utf-8") for row in canvas.text]

    def screen(self, size: tuple[int, int] = SIZE) -> str:
        return "\n".join(self.rows(size))

    def attrs(self, size: tuple[int, int] = SIZE) -> list[set[object]]:
        """The display attributes used on each row."""
        canvas = self.window.render(size, focus=True)
        # Newer urwid stacks an AttrMap's attribute under the inner one (LayeredAttr).
        return [
            {layer for attr, _, _ in row for layer in getattr(attr, "layers", (attr,))}
            for row in canvas.content()
        ]

    def status(self) -> str:
        return self.rows()[-2]


def test_layout_topic_nicklist_status_and_input() -> None:
    ui = Harness()
    ui.server(":srv 332 ada #lobby :Welcome to the lobby")
    rows = ui.rows()
    assert rows[0].startswith("#lobby [5 users] Welcome to the lobby")
    assert "│@ada" in rows[1]
    nicklist = [row.split("│")[1].strip() for row in rows[1:6]]
    assert nicklist == ["@ada", "+carol", "bob", "grace", "greg"]
    assert rows[-2].startswith(" [ada] [2:#lobby]")
    assert rows[-1].startswith("[#lobby] ")


def test_messages_go_to_their_buffer_and_unread_markers_show() -> None:
    ui = Harness()
    ui.type("/join #trio")
    assert ui.sent[-1] == "JOIN #trio"
    ui.server(":ada!u@h JOIN #trio")
    assert ui.rows()[0].startswith("#trio")  # a join we asked for takes the focus
    ui.keys("meta 2")
    ui.server(":bob!u@h PRIVMSG #lobby :in the lobby")
    ui.server(":bob!u@h PRIVMSG #trio :about trio")
    screen = ui.screen()
    assert "<bob> in the lobby" in screen and "about trio" not in screen
    assert ui.status().rstrip().endswith("[Act: 3]")

    ui.server(":bob!u@h PRIVMSG ada :a private word")
    assert ui.status().rstrip().endswith("[Act: 3,4]")
    assert "status_mention" in ui.attrs()[-2]  # the query is marked

    ui.keys("meta 3")
    assert "<bob> about trio" in ui.screen()
    assert ui.status().rstrip().endswith("[Act: 4]")
    ui.keys("ctrl n")
    assert ui.rows()[0].startswith("Private conversation with bob")
    assert "<bob> a private word" in ui.screen()
    assert "Act" not in ui.status()
    ui.keys("ctrl n")
    assert ui.buffers.current is ui.buffers.server
    ui.keys("ctrl p")
    assert ui.buffers.current.name == "bob"
    ui.type("/window 2")
    assert ui.buffers.current.name == "#lobby"


def test_own_messages_and_mentions_are_highlighted() -> None:
    ui = Harness()
    ui.type("hello everyone")
    assert ui.sent[-1] == "PRIVMSG #lobby :hello everyone"
    ui.server(":bob!u@h PRIVMSG #lobby :ada: are you there?")
    ui.server(":bob!u@h PRIVMSG #lobby :just chatting")
    rows, attrs = ui.rows(), ui.attrs()
    own_row = next(i for i, row in enumerate(rows) if "hello everyone" in row)
    mention_row = next(i for i, row in enumerate(rows) if "are you there" in row)
    plain_row = next(i for i, row in enumerate(rows) if "just chatting" in row)
    assert "own" in attrs[own_row]
    assert "mention" in attrs[mention_row]
    assert "mention" not in attrs[plain_row]
    # the nick has its own stable colour
    assert any(str(attr).startswith("nick") for attr in attrs[plain_row])


def test_tab_completion_cycles_and_adds_colon_at_line_start() -> None:
    ui = Harness()
    ui.type("gr", enter=False)
    ui.keys("tab")
    assert ui.window.edit.edit_text == "grace: "
    ui.keys("tab")
    assert ui.window.edit.edit_text == "greg: "
    ui.keys("tab")
    assert ui.window.edit.edit_text == "grace: "
    ui.type("hi and ca", enter=False)
    ui.keys("tab")
    assert ui.window.edit.edit_text == "grace: hi and carol "
    ui.keys(*["backspace"] * 40)
    ui.type("/jo", enter=False)
    ui.keys("tab")
    assert ui.window.edit.edit_text == "/join "
    ui.type("#lo", enter=False)
    ui.keys("tab")
    assert ui.window.edit.edit_text == "/join #lobby "


def test_recent_speakers_complete_first() -> None:
    ui = Harness()
    ui.server(":greg!u@h PRIVMSG #lobby :I spoke last")
    ui.type("g", enter=False)
    ui.keys("tab")
    assert ui.window.edit.edit_text == "greg: "


def test_input_history_with_up_and_down() -> None:
    ui = Harness()
    ui.type("first")
    ui.type("second")
    ui.type("draft", enter=False)
    ui.keys("up")
    assert ui.window.edit.edit_text == "second"
    ui.keys("up", "up")
    assert ui.window.edit.edit_text == "first"
    ui.keys("down", "down")
    assert ui.window.edit.edit_text == "draft"


def test_commands_from_the_input_line() -> None:
    ui = Harness()
    ui.type("/me waves")
    ui.type("/topic new topic")
    ui.type("/nick grace")
    ui.type("/whois bob")
    ui.type("/away lunch")
    ui.type("/away")
    ui.type("/names")
    ui.type("/raw PRIVMSG bob :raw line")
    ui.type("/msg bob hi")
    ui.type("/part bye")
    assert ui.sent[-10:] == [
        "PRIVMSG #lobby :\x01ACTION waves\x01",
        "TOPIC #lobby :new topic",
        "NICK grace",
        "WHOIS bob",
        "AWAY lunch",
        "AWAY",
        "NAMES #lobby",
        "PRIVMSG bob :raw line",
        "PRIVMSG bob hi",
        "PART #lobby bye",
    ]
    ui.type("/query carol hey")
    assert ui.buffers.current.name == "carol"
    assert ui.sent[-1] == "PRIVMSG carol hey"
    ui.type("/close")
    assert ui.buffers.get("carol") is None
    ui.type("/help join")
    assert "/join #channel" in ui.screen()
    ui.type("/quit see you")
    assert ui.quit_reason == "see you"
    ui.keys("ctrl c")
    assert ui.quit_reason == "Leaving"


def test_resize_and_wide_characters_keep_the_layout() -> None:
    ui = Harness()
    wide = "你好世界" * 12 + " 🎉🎉 end"
    ui.server(f":bob!u@h PRIVMSG #lobby :{wide}")
    for size in [(80, 16), (40, 10), (120, 30), (25, 8)]:
        canvas = ui.window.render(size, focus=True)
        assert canvas.rows() == size[1] and canvas.cols() == size[0]
        rows = [row.decode() for row in canvas.text]
        assert all(urwid.str_util.calc_width(row, 0, len(row)) == size[0] for row in rows)
        body = "".join(row.split("│")[0] for row in rows)
        if size[0] >= 40:
            assert "end" in body  # the wrapped long line is shown to its end
    for tiny in [(1, 1), (5, 2), (12, 3), (18, 5)]:  # nothing breaks, nothing overflows
        assert len(ui.rows(tiny)) == tiny[1]
        ui.window.keypress(tiny, "page up")
        ui.window.keypress(tiny, "page down")
        assert rows[-2].startswith(" [ada]")


def test_page_up_at_the_top_asks_for_older_history() -> None:
    ui = Harness(caps="batch server-time message-tags draft/chathistory")
    ui.server(":srv BATCH +h chathistory #lobby")
    for i in range(40):
        ui.server(
            f"@batch=h;time=2026-01-01T10:{i:02d}:00.000Z;msgid=id{i} "
            f":bob!u@h PRIVMSG #lobby :line {i}"
        )
    ui.server(":srv BATCH -h")
    assert "line 39" in ui.screen() and "line 0 " not in ui.screen()
    ui.keys("page up")
    assert "-MORE-" in ui.status()
    assert not any(s.startswith("CHATHISTORY BEFORE") for s in ui.sent)
    ui.keys("page up", "page up", "page up", "page up")
    assert "line 0" in ui.screen()
    assert "── Thursday 2026-01-01 ──" in ui.screen()  # history from another day says so
    assert ui.sent[-1] == "CHATHISTORY BEFORE #lobby msgid=id0 50"
    # the older lines arrive and are put above, keeping the place
    ui.server(":srv BATCH +o chathistory #lobby")
    ui.server("@batch=o;time=2026-01-01T09:59:00.000Z;msgid=x :carol!u@h PRIVMSG #lobby :older")
    ui.server(":srv BATCH -o")
    lobby = ui.buffers.get("#lobby")
    assert lobby is not None and lobby.lines[0].text == "older"
    assert "line 0" in ui.screen()
    ui.keys(*["page down"] * 10)
    assert "-MORE-" not in ui.status()
    ui.server(":bob!u@h PRIVMSG #lobby :newest")
    assert "newest" in ui.rows()[-3]


def test_connection_loss_is_shown_in_every_buffer() -> None:
    ui = Harness()
    ui.server(":bob!u@h PRIVMSG ada :hi")
    assert "not connected" not in ui.status()
    ui.session.connection_lost("connection reset")
    assert "[not connected]" in ui.status()
    for number in range(1, len(ui.buffers.all) + 1):
        ui.keys(f"meta {number}")
        assert "Disconnected: connection reset" in ui.screen()
    ui.type("anyone?")
    assert "Not connected." in ui.screen()


def test_whois_is_laid_out_as_irssi_does() -> None:
    ui = Harness()
    ui.type("/whois bob")
    ui.server(
        ":srv 311 ada bob ~b host.example * :Bob Smith",
        ":srv 312 ada bob irc.test :the test server",
        ":srv 319 ada bob :@#lobby +#trio",
        ":srv 317 ada bob 125 1700000000 :seconds idle, signon time",
        ":srv 318 ada bob :End of /WHOIS list",
    )
    screen = ui.screen((120, 16))
    for text in [
        "-!- bob [~b@host.example]",
        "-!-  ircname  : Bob Smith",
        "-!-  server   : irc.test [the test server]",
        "-!-  channels : @#lobby +#trio",
        "-!-  idle     : 0 days 0 hours 2 mins 5 secs [signon: 2023-11-",
        "-!- End of WHOIS",
    ]:
        assert text in screen


def test_scrollback_is_bounded_and_the_view_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "MAX_LINES", 50)
    ui = Harness()
    for i in range(120):
        ui.server(f"@msgid=m{i} :bob!u@h PRIVMSG #lobby :number {i}")
    lobby = ui.buffers.get("#lobby")
    assert lobby is not None and len(lobby.lines) <= 50
    assert len(ui.window.view(lobby).walker) == len(lobby.lines)
    assert "number 119" in ui.rows()[-3]
    assert "m0" not in lobby.msgids and "m119" in lobby.msgids


def test_line_editing_keys() -> None:
    ui = Harness()
    ui.type("hello brave new world", enter=False)
    ui.keys("ctrl w")
    assert ui.window.edit.edit_text == "hello brave new "
    ui.keys("ctrl a")
    assert ui.window.edit.edit_pos == 0
    ui.keys("ctrl e", "left", "left", "left", "left", "ctrl k")
    assert ui.window.edit.edit_text == "hello brave "
    ui.keys("left", "ctrl u")
    assert ui.window.edit.edit_text == " "
