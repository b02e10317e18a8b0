"""What irssi users reach for first, headless: commands, numerics, mIRC colours,
query history, the last-read line, reconnects, notifications and window logs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import urwid

from ircish.client import mirc
from ircish.client.chatlog import ChatLog, file_name
from ircish.client.commands import COMMANDS, Context, run_input
from ircish.client.config import build
from ircish.client.model import LIST_BUFFER, BufferKind, Buffers, now
from ircish.client.notify import Notifier
from ircish.client.session import Identity, Session
from ircish.client.text import format_server_time
from ircish.client.widgets import ChatWindow, Look

urwid.set_encoding("utf8")

SIZE = (100, 20)
HISTORY_CAPS = "server-time message-tags batch draft/chathistory draft/read-marker"


class Screen:
    """A window over a session whose network is a list, with the bell and title captured."""

    def __init__(
        self,
        caps: str = "",
        *,
        look: Look | None = None,
        highlights: list[str] | None = None,
        aliases: dict[str, str] | None = None,
        save_ignores: object = None,
    ) -> None:
        self.buffers = Buffers("irc.test")
        self.session = Session(Identity("ada"), self.buffers, ["#lobby"], highlights=highlights)
        self.sent: list[str] = []
        self.terminal: list[str] = []
        self.ctx = Context(
            self.session,
            self.buffers,
            lambda reason: None,
            aliases=aliases or {},
            save_ignores=save_ignores,  # type: ignore[arg-type]
        )
        self.window = ChatWindow(
            self.buffers,
            own_nick=lambda: self.session.nick,
            on_submit=lambda text: run_input(self.ctx, text),
            on_scroll_top=self.session.request_older,
            commands=lambda: sorted(COMMANDS),
            online=lambda: self.session.registered,
            look=look or Look(),
            notifier=Notifier(self.terminal.append),
        )
        self.buffers.listener = self.window
        self.connect(caps)

    def connect(self, caps: str = "") -> None:
        self.session.connection_made(self.sent.append)
        if caps:
            self.server(f":srv CAP * LS :{caps}", f":srv CAP * ACK :{caps}")
        self.server(":srv 001 ada :Welcome", ":ada!u@h JOIN #lobby")
        self.server(":srv 353 ada = #lobby :@ada bob +carol", ":srv 366 ada #lobby :End")

    def server(self, *lines: str) -> None:
        for line in lines:
            self.session.handle_line(line)

    def type(self, text: str) -> None:
        for key in text:
            self.window.keypress(SIZE, key)
        self.window.keypress(SIZE, "enter")

    def screen(self, size: tuple[int, int] = SIZE) -> str:
        return "\n".join(row.decode("utf-8") for row in self.window.render(size, True).text)

    def runs(self, size: tuple[int, int] = SIZE) -> list[tuple[object, str]]:
        """Every (attribute, text) run on the screen."""
        canvas = self.window.render(size, True)
        found: list[tuple[object, str]] = []
        for row in canvas.content():
            for attr, _, text in row:
                for layer in getattr(attr, "layers", (attr,)):
                    found.append((layer, text.decode("utf-8")))
        return found

    def texts(self, name: str) -> list[str]:
        buffer = self.buffers.server if name == "*" else self.buffers.get(name)
        assert buffer is not None, name
        return [line.text for line in buffer.lines]


# -- 1. commands ---------------------------------------------------------------------


def test_channel_commands_with_irssis_argument_forms() -> None:
    ui = Screen()
    ui.server(":srv 005 ada MODES=2 :are supported")
    ui.type("/op bob carol dave")
    ui.type("/deop bob")
    ui.type("/voice #other erin")
    ui.type("/devoice carol")
    ui.type("/kick bob that was rude")
    ui.type("/k #other erin")
    ui.type("/invite frank")
    ui.type("/invite frank #other")
    ui.type("/mode +m")
    ui.type("/mode #other")
    ui.type("/mode")
    ui.type("/ban")
    ui.type("/topic")
    ui.type("/topic #other")
    assert ui.sent[-15:] == [
        "MODE #lobby +oo bob carol",  # MODES=2: two per line
        "MODE #lobby +o dave",
        "MODE #lobby -o bob",
        "MODE #other +v erin",
        "MODE #lobby -v carol",
        "KICK #lobby bob :that was rude",
        "KICK #other erin",
        "INVITE frank #lobby",
        "INVITE frank #other",
        "MODE #lobby +m",
        "MODE #other",
        "MODE #lobby",
        "MODE #lobby +b",  # /ban alone lists the bans
        "TOPIC #lobby",
        "TOPIC #other",
    ]


def test_ban_by_nick_uses_the_host_and_asks_for_an_unknown_one() -> None:
    ui = Screen()
    ui.server(":bob!~b@bob.example PRIVMSG #lobby :hi")
    ui.type("/ban bob")
    assert ui.sent[-1] == "MODE #lobby +b *!*@bob.example"
    ui.type("/ban *!*@spam.example eve")
    assert ui.sent[-2:] == ["USERHOST eve", "MODE #lobby +b *!*@spam.example"]
    ui.server(":srv 302 ada :eve=+~e@eve.example")
    assert ui.sent[-1] == "MODE #lobby +b *!*@eve.example"
    ui.type("/ban ghost")
    ui.server(":srv 302 ada :")
    assert ui.sent[-1] == "USERHOST ghost"
    assert "No such nick ghost: nothing banned" in ui.screen()
    ui.type("/unban bob")
    assert ui.sent[-1] == "MODE #lobby -b *!*@bob.example"


def test_list_opens_a_window_sorted_by_users_or_name() -> None:
    ui = Screen()
    ui.type("/list")
    assert ui.sent[-1] == "LIST"
    rows = [
        ":srv 321 ada Channel :Users  Name",
        ":srv 322 ada #small 2 :a quiet place",
        ":srv 322 ada #big 40 :[+nt] the \x02busy\x02 one",
        ":srv 322 ada #middle 7 :",
        ":srv 323 ada :End of /LIST",
    ]
    ui.server(*rows)
    assert ui.buffers.current.kind is BufferKind.LIST
    screen = ui.screen()
    assert screen.startswith("Channel list")
    order = [screen.index(name) for name in ("#big", "#middle", "#small")]
    assert order == sorted(order)
    assert "#big       40  [+nt] the busy one" in screen
    assert "3 channels sorted by users" in screen

    ui.type("/list -name m")
    ui.server(*rows)
    buffer = ui.buffers.get(LIST_BUFFER)
    assert buffer is not None and ui.buffers.current is buffer
    texts = ui.texts(LIST_BUFFER)
    assert [t.split()[0] for t in texts[1:-1]] == ["#middle", "#small"]  # name order, "m" in it
    assert "2 channels matching 'm', sorted by name" in texts[-1]
    ui.type("hello")  # the list window is not a chat window
    assert ui.sent[-1] == "LIST"


def test_ignore_drops_lines_and_is_written_to_the_settings(tmp_path: Path) -> None:
    settings = tmp_path / "client.toml"
    settings.write_text('nick = "ada"\nignore = [\n  "old",\n]\n\n[client]\ntls = false\n')
    saved: list[list[str]] = []

    def save(masks: list[str]) -> None:
        from ircish.client.config import save_list

        saved.append(masks)
        save_list(settings, "ignore", masks)

    ui = Screen(save_ignores=save)
    ui.type("/ignore troll *!*@spam.example")
    ui.server(":troll!t@x PRIVMSG #lobby :buy now")
    ui.server(":Troll!t@x PRIVMSG ada :private spam")
    ui.server(":eve!e@spam.example PRIVMSG #lobby :also spam")
    ui.server(":bob!b@ok.example PRIVMSG #lobby :a real message")
    lobby = [line.text for line in ui.buffers.get("#lobby").lines if line.kind == "message"]  # type: ignore[union-attr]
    assert lobby == ["a real message"]
    assert ui.buffers.get("troll") is None
    assert saved[-1] == ["troll", "*!*@spam.example"]
    config = build({}, settings)
    assert config.ignore == ("troll", "*!*@spam.example") and config.tls is False

    ui.type("/unignore troll")
    ui.server(":troll!t@x PRIVMSG #lobby :back again")
    assert "back again" in ui.texts("#lobby")
    assert build({}, settings).ignore == ("*!*@spam.example",)


def test_saved_ignores_replace_the_key_where_it_is(tmp_path: Path) -> None:
    from ircish.client.config import save_list

    settings = tmp_path / "client.toml"
    settings.write_text('# mine\n[client]\nnick = "ada"\nignore = ["old"]\n\n[aliases]\nx = "y"\n')
    save_list(settings, "ignore", ["new", 'odd"nick'])
    config = build({}, settings)
    assert config.ignore == ("new", 'odd"nick') and config.aliases == {"x": "y"}
    assert settings.read_text().startswith("# mine\n[client]\n")
    fresh = tmp_path / "sub" / "none.toml"
    save_list(fresh, "ignore", ["a"])
    assert build({}, fresh).ignore == ("a",)


def test_clear_aliases_and_help() -> None:
    ui = Screen(aliases={"ns": "msg NickServ", "hi": "msg $* hello there"})
    ui.server(":bob!u@h PRIVMSG #lobby :something to clear")
    ui.type("/clear")
    assert "something to clear" not in ui.screen()
    assert ui.buffers.current.lines == []
    ui.type("/ns info ada")
    ui.type("/hi bob")
    ui.type("/j #trio")
    ui.type("/q carol")
    assert ui.sent[-3:] == ["PRIVMSG NickServ :info ada", "PRIVMSG bob :hello there", "JOIN #trio"]
    assert ui.buffers.current.name == "carol"
    ui.type("/w 2")
    assert ui.buffers.current.name == "#lobby"
    ui.type("/help ns")
    ui.type("/help ban")
    screen = ui.screen()
    assert "/ns is an alias for /msg NickServ $*" in screen
    assert "/ban [#channel] [nick|mask...]" in screen
    looping = Screen(aliases={"a": "b", "b": "a"})
    looping.type("/a")
    assert "expands into itself" in looping.screen()


# -- 2. numerics ---------------------------------------------------------------------


def test_numerics_show_all_their_parameters() -> None:
    ui = Screen()
    ui.server(
        ":srv 324 ada #lobby +ntk secret",
        ":srv 329 ada #lobby 1796109860",
        ":srv 367 ada #lobby *!*@bad.example bob!b@h 1796109860",
        ":srv 368 ada #lobby :End of channel ban list",
        ":srv 352 ada #lobby ~b bob.example irc.test bob H@ :0 Bob Smith",
        ":srv 315 ada bob :End of WHO list",
        ":srv 401 ada nobody :No such nick/channel",
        ":srv 482 ada #lobby :You're not channel operator",
        ":srv 999 ada alpha beta :and a sentence at the end",
    )
    ui.type("/window 1")
    screen = ui.screen((140, 20))
    ui.type("/window 2")
    screen += ui.screen((140, 20))
    created = mirc_time(1796109860)
    for text in [
        "Mode #lobby: +ntk secret",
        f"Channel #lobby created {created}",
        f"#lobby: ban *!*@bad.example [by bob, {created}]",
        "#lobby: end of ban list",
        "#lobby       bob          H@   ~b@bob.example (Bob Smith) [irc.test, 0 hops]",
        "End of WHO list for bob",
        "nobody: No such nick/channel",
        "#lobby: You're not channel operator",
        "alpha beta: and a sentence at the end",
    ]:
        assert text in screen, text


def mirc_time(value: int) -> str:
    from ircish.client.numerics import when

    return when(str(value))


# -- 3. mIRC formatting ----------------------------------------------------------------


def test_mirc_runs_parse_styles_and_colours() -> None:
    text = "\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x0f \x034,12red on blue\x03 \x0352x"
    pieces = mirc.runs(text)
    assert "".join(chunk for _, chunk in pieces) == "bold italic under rev red on blue x"
    styles = dict((chunk, style) for style, chunk in pieces)
    assert styles["bold"].bold and styles["italic"].italic and styles["under"].underline
    assert styles["rev"].reverse
    assert styles["red on blue"].fg == 4 and styles["red on blue"].bg == 12
    assert styles["x"].fg == 52
    assert mirc.runs("\x0399,99plain") == [(mirc.PLAIN, "plain")]
    assert mirc.runs("\x03,5comma") == [(mirc.PLAIN, ",5comma")]  # a comma with no colour
    assert mirc.basic_name(4) == "light red" and mirc.basic_name(52) == "light red"
    assert mirc.basic_name(28) == "dark red" and mirc.basic_name(60) == "dark blue"
    assert mirc.high_name(52) == "#f00" and mirc.high_name(60) == "#00f"


def test_formatting_is_drawn_on_the_palette_or_stripped() -> None:
    line = ":bob!u@h PRIVMSG #lobby :\x02loud\x02 and \x034,1red\x03 and \x0360blue\x0f"
    ui = Screen()
    ui.server(line)
    runs = ui.runs()
    attrs = {text.strip(): attr for attr, text in runs if text.strip()}
    loud, red, blue = attrs["loud"], attrs["red"], attrs["blue"]
    assert isinstance(loud, urwid.AttrSpec) and loud.bold
    assert isinstance(red, urwid.AttrSpec)
    assert red.foreground.startswith("#f55") or red.foreground.startswith("light red")
    assert red.background == "black"
    assert isinstance(blue, urwid.AttrSpec) and blue.foreground == "#00f"
    assert "<bob> loud and red and blue" in ui.screen()

    sixteen = Screen(look=Look(colours=16))
    sixteen.server(line)
    attrs = {text.strip(): attr for attr, text in sixteen.runs() if text.strip()}
    assert isinstance(attrs["blue"], urwid.AttrSpec)
    assert attrs["blue"].foreground == "dark blue"  # the nearest of xterm's sixteen

    stripped = Screen(look=Look(formatting=False))
    stripped.server(line)
    assert not any(isinstance(attr, urwid.AttrSpec) for attr, _ in stripped.runs())
    assert "<bob> loud and red and blue" in stripped.screen()
    assert stripped.buffers.get("#lobby").lines[-1].text == "loud and red and blue"  # type: ignore[union-attr]


# -- 4. query history and the last-read line -------------------------------------------


def test_targets_after_connect_and_latest_for_each_query() -> None:
    ui = Screen(HISTORY_CAPS)
    targets = [line for line in ui.sent if line.startswith("CHATHISTORY TARGETS")]
    assert len(targets) == 1 and targets[0].count("timestamp=") == 2
    ui.server(
        ":srv BATCH +t draft/chathistory-targets",
        "@batch=t :srv CHATHISTORY TARGETS ivan 2026-11-30T10:00:00.000Z",
        "@batch=t :srv CHATHISTORY TARGETS #lobby 2026-11-30T10:00:00.000Z",
        ":srv BATCH -t",
    )
    ivan = ui.buffers.get("ivan")
    assert ivan is not None and ivan.kind is BufferKind.QUERY
    assert ui.buffers.current.name == "#lobby"  # opened, not focused
    assert ui.sent[-1] == "CHATHISTORY LATEST ivan * 50"
    ui.server(
        ":srv BATCH +h chathistory ivan",
        "@batch=h;time=2026-11-30T10:00:00.000Z;msgid=i1 :ivan!i@h PRIVMSG ada :are you there?",
        "@batch=h;time=2026-11-30T10:01:00.000Z;msgid=i2 :ada!u@h PRIVMSG ivan :yes",
        ":srv BATCH -h",
    )
    assert ui.texts("ivan") == ["are you there?", "yes"]
    assert ivan.unread == 0  # history is not news

    ui.type("/query grace")
    assert ui.sent[-1] == "CHATHISTORY LATEST grace * 50"
    ui.type("/window ivan")
    ui.window.keypress(SIZE, "page up")
    assert ui.sent[-1].startswith("CHATHISTORY BEFORE ivan msgid=i1 ")

    # After a reconnect the existing queries are asked for again (missed lines).
    ui.session.connection_lost("gone")
    ui.sent.clear()
    ui.connect(HISTORY_CAPS)
    latest = [line for line in ui.sent if line.startswith("CHATHISTORY LATEST")]
    assert "CHATHISTORY LATEST ivan * 50" in latest and "CHATHISTORY LATEST grace * 50" in latest


def test_last_read_line_follows_reading_and_read_markers() -> None:
    ui = Screen(HISTORY_CAPS)
    base = now()

    def at(seconds: int) -> str:  # after the join: live lines, not replayed history
        return format_server_time(base + timedelta(seconds=seconds))

    ui.server(f"@time={at(1)} :bob!u@h PRIVMSG #lobby :read this")
    ui.type("/query carol")
    sent_mark = [line for line in ui.sent if line.startswith("MARKREAD #lobby")]
    assert sent_mark == [f"MARKREAD #lobby timestamp={at(1)}"]
    ui.server(f"@time={at(5)} :bob!u@h PRIVMSG #lobby :new since")
    ui.type("/window #lobby")
    screen = ui.screen()
    assert "last read" in screen
    assert screen.index("read this") < screen.index("last read") < screen.index("new since")
    assert ui.sent[-1] == f"MARKREAD #lobby timestamp={at(5)}"

    # Read on another device: the line moves, and the window is no longer unread.
    ui.type("/window carol")
    ui.server(f"@time={at(6)} :bob!u@h PRIVMSG #lobby :later")
    ui.server(f"@time={at(7)} :bob!u@h PRIVMSG #lobby :latest")
    lobby = ui.buffers.get("#lobby")
    assert lobby is not None and lobby.unread == 2
    ui.server(f":srv MARKREAD #lobby timestamp={at(6)}")
    assert lobby.unread == 1
    ui.type("/window #lobby")
    screen = ui.screen()
    assert screen.index("later") < screen.index("last read") < screen.index("latest")
    ui.server(f":srv MARKREAD #lobby timestamp={at(-60)}")  # never backwards
    assert lobby.last_read is not None and format_server_time(lobby.last_read) == at(7)


def test_no_markread_without_the_capability() -> None:
    ui = Screen("server-time")
    ui.server("@time=2026-11-30T10:00:00.000Z :bob!u@h PRIVMSG #lobby :hi")
    ui.type("/window 1")
    ui.type("/window 2")
    assert not any(line.startswith("MARKREAD") for line in ui.sent)


# -- 5. reconnects -------------------------------------------------------------------------


def test_reconnect_keeps_focus_scroll_and_shows_the_error_reason() -> None:
    caps = "server-time message-tags batch draft/chathistory"
    ui = Screen(caps)
    ui.type("/join #trio")
    ui.server(":ada!u@h JOIN #trio", ":srv 366 ada #trio :End")
    base = now()
    for i in range(60):
        stamp = format_server_time(base + timedelta(seconds=i))
        ui.server(f"@time={stamp};msgid=t{i} :bob!u@h PRIVMSG #trio :line {i}")
    ui.window.render(SIZE, True)
    for _ in range(3):
        ui.window.keypress(SIZE, "page up")
    before = [row for row in ui.screen().splitlines() if "line " in row]
    assert before and "line 59" not in "\n".join(before)

    ui.server(":srv ERROR :Closing Link: ada (Killed (oper (enough)))")
    ui.session.connection_lost("connection closed by the server")
    assert "Disconnected: Closing Link: ada (Killed (oper (enough)))" in ui.texts("#trio")
    ui.connect(caps)  # the autojoin channel #lobby is the first one joined again
    assert "JOIN #lobby,#trio" in ui.sent
    ui.server(":ada!u@h JOIN #trio", ":srv 366 ada #trio :End")
    # The history fetched on the rejoin (the last lines again, and one new one).
    late = format_server_time(base + timedelta(seconds=90))
    ui.server(
        ":srv BATCH +r chathistory #trio",
        *(f"@batch=r;time={format_server_time(base + timedelta(seconds=i))};msgid=t{i} "
          f":bob!u@h PRIVMSG #trio :line {i}" for i in range(50, 60)),
        f"@batch=r;time={late};msgid=t90 :bob!u@h PRIVMSG #trio :said while away",
        ":srv BATCH -r",
    )  # fmt: skip
    assert ui.buffers.current.name == "#trio"
    assert "said while away" in ui.texts("#trio")
    after = [row for row in ui.screen().splitlines() if "line " in row]
    assert after == before


# -- 6. notifications ---------------------------------------------------------------------


def test_bell_and_title_on_highlights_and_private_messages() -> None:
    ui = Screen(highlights=["python"])
    ui.type("/window 1")
    ui.server(":bob!u@h PRIVMSG #lobby :just talking")
    assert ui.terminal == []
    ui.server(":bob!u@h PRIVMSG #lobby :anyone know Python?")
    assert ui.terminal[-1] == "\a\x1b]2;ircish: bob (#lobby)\x07"
    ui.server(":carol!u@h PRIVMSG ada :psst")
    assert ui.terminal[-1] == "\a\x1b]2;ircish: carol (private message)\x07"
    assert ui.buffers.get("#lobby").lines[-1].mention  # type: ignore[union-attr]
    ui.type("/window carol")
    assert ui.terminal[-1].startswith("\a")  # #lobby still wants looking at
    ui.type("/window #lobby")
    assert ui.terminal[-1] == "\x1b]2;ircish\x07"  # all seen: the title is plain again


# -- 7. window logs -----------------------------------------------------------------------


def test_window_logs_per_network_and_target(tmp_path: Path) -> None:
    buffers = Buffers("irc.test")
    session = Session(Identity("ada"), buffers, ["#lobby"])
    log = ChatLog(tmp_path, network=lambda: session.isupport.network or "irc.test",
                  casefold=buffers.casefold)  # fmt: skip
    buffers.listener = log
    sent: list[str] = []
    session.connection_made(sent.append)
    for line in [
        ":srv 001 ada :Welcome",
        ":srv 005 ada NETWORK=TestNet :are supported",
        ":ada!u@h JOIN #Lobby",
        ":bob!u@h PRIVMSG #Lobby :\x02hello\x02 all",
        ":bob!u@h PRIVMSG ada :a word in private",
    ]:
        session.handle_line(line)
    log.close()
    lobby = (tmp_path / "testnet" / "#lobby.log").read_text().splitlines()
    assert lobby[-1].endswith(" <bob> hello all") and lobby[-1][:4].isdigit()
    assert "You joined #Lobby" in lobby[0]
    assert (tmp_path / "testnet" / "bob.log").read_text().endswith("<bob> a word in private\n")
    assert sorted(p.name for p in (tmp_path / "testnet").iterdir()) == ["#lobby.log", "bob.log"]
    assert file_name("../../etc") == "_.._etc" and file_name("") == "_"
    assert not (tmp_path / "irc.test").exists()


def test_window_logs_keep_a_few_files_open_not_one_per_window(tmp_path: Path) -> None:
    buffers = Buffers("irc.test")
    session = Session(Identity("ada"), buffers, [])
    log = ChatLog(tmp_path, network=lambda: "net", casefold=buffers.casefold, max_open=3)
    buffers.listener = log
    session.connection_made(lambda line: None)
    session.handle_line(":srv 001 ada :Welcome")
    opened: list[object] = []
    for round_ in range(2):
        for i in range(10):
            session.handle_line(f":ada!u@h JOIN #c{i}")
            session.handle_line(f":bob!u@h PRIVMSG #c{i} :line {round_}")
            assert len(log.files) <= 3
            opened.extend(log.files.values())
    # A busy window stays open while it is written to; the others were closed.
    session.handle_line(":bob!u@h PRIVMSG #c9 :again")
    assert list(log.files)[-1] == (str(tmp_path / "net"), "#c9.log")
    closed = [h for h in set(opened) if h not in log.files.values()]
    assert closed and all(h.closed for h in closed)  # type: ignore[attr-defined]
    log.close()
    for i in range(10):
        text = (tmp_path / "net" / f"#c{i}.log").read_text()
        # Reopened in append mode: nothing written before is lost.
        assert text.count("<bob> line 0") == 1 and text.count("<bob> line 1") == 1, text
    assert (tmp_path / "net" / "#c9.log").read_text().endswith("<bob> again\n")
