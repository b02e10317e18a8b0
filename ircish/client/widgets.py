"""The urwid widgets of the full-screen view, built from the buffer model.

:class:`ChatWindow` is the whole screen: topic line, the current buffer's
lines (with a nick list beside channels), status line and input line. It
handles the client's keys itself and passes the rest to the input, so it can
be driven headless with ``keypress`` and checked with ``render``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import urwid

from ircish.client import mirc
from ircish.client.completion import Completer
from ircish.client.format import NICK_COLOURS, body, clock, nick_colour_index
from ircish.client.model import Buffer, BufferKind, Buffers, Line, Member
from ircish.client.notify import Notifier
from ircish.client.text import count

NICKLIST_WIDTH = 16
HISTORY_SIZE = 200
EDIT_KEYS = ("ctrl a", "ctrl e", "ctrl u", "ctrl k", "ctrl w")

PALETTE: list[tuple[str, str, str]] = [
    ("topic", "white", "dark blue"),
    ("status", "white", "dark blue"),
    ("status_act", "yellow,bold", "dark blue"),
    ("status_mention", "light red,bold", "dark blue"),
    ("time", "dark gray", ""),
    ("info", "dark cyan", ""),
    ("error", "light red", ""),
    ("join", "dark green", ""),
    ("part", "brown", ""),
    ("own", "bold", ""),
    ("mention", "yellow,bold", ""),
    ("prompt", "light cyan", ""),
    ("op", "light green", ""),
    ("voice", "yellow", ""),
    ("away", "dark gray", ""),
    ("divider", "dark blue", ""),
    ("marker", "light red", ""),
] + [(f"nick{index}", colour, "") for index, colour in enumerate(NICK_COLOURS)]

_KIND_ATTR = {
    "join": "join",
    "part": "part",
    "quit": "part",
    "kick": "part",
    "error": "error",
}


TIME_WIDTH = 6  # "HH:MM "
MARKER_TEXT = "──────── last read ────────"

Markup = list[tuple[str | urwid.AttrSpec, str] | str]


@dataclass(frozen=True)
class Look:
    """How lines are drawn: mIRC formatting shown or not, and the terminal's colours."""

    formatting: bool = True
    colours: int = 256


@functools.lru_cache(maxsize=1024)
def style_attr(style: mirc.Style, colours: int) -> urwid.AttrSpec:
    """A mIRC style as an urwid attribute for a terminal with ``colours`` colours."""
    name = mirc.high_name if colours >= 256 else mirc.basic_name
    flags = [
        setting
        for setting, on in (
            ("bold", style.bold),
            ("italics", style.italic),
            ("underline", style.underline),
            ("standout", style.reverse),
            ("strikethrough", style.strike),
        )
        if on
    ]
    fg = name(style.fg) if style.fg is not None else "default"
    bg = name(style.bg) if style.bg is not None else "default"
    return urwid.AttrSpec(",".join([fg, *flags]), bg, 256 if colours >= 256 else 16)


def styled_markup(text: str, plain_attr: str, look: Look) -> Markup:
    markup: Markup = []
    for style, chunk in mirc.runs(text):
        if style.plain:
            markup.append((plain_attr, chunk) if plain_attr else chunk)
        else:
            markup.append((style_attr(style, look.colours), chunk))
    return markup


def line_markup(line: Line, look: Look = Look()) -> Markup:
    """The line after its time stamp, coloured by kind, nick and highlight."""
    before, nick, after = body(line)
    markup: Markup = []
    if line.kind in ("message", "action", "notice"):
        nick_attr = "own" if line.own else f"nick{nick_colour_index(nick)}"
        text_attr = "mention" if line.mention else "own" if line.own else ""
        markup += [before, (nick_attr, nick)]
        if line.styled and look.formatting:
            lead = after[: len(after) - len(line.text)]
            markup += [(text_attr, lead) if text_attr else lead]
            markup += styled_markup(line.styled, text_attr, look)
        else:
            markup += [(text_attr, after) if text_attr else after]
    else:
        markup.append((_KIND_ATTR.get(line.kind, "info"), before + after))
    return markup


def marker_before(line: Line, previous: Line | None, marker: datetime | None) -> bool:
    """Whether the "last read" line goes above ``line``: the first line after it."""
    return (
        marker is not None
        and previous is not None
        and previous.time <= marker < line.time
    )


def line_widget(
    line: Line,
    previous: Line | None = None,
    marker: datetime | None = None,
    look: Look = Look(),
) -> urwid.Widget:
    """Time stamp in its own column, so wrapped text stays indented under the message.

    The first line of a day carries the date above it: times alone would not
    say that history from yesterday is not from today. The first unread line
    carries the "last read" line above it.
    """
    stamp = urwid.Text(("time", clock(line, seconds=False)))
    row = urwid.Columns([(TIME_WIDTH, stamp), urwid.Text(line_markup(line, look))], dividechars=0)
    above: list[urwid.Widget] = []
    if marker_before(line, previous, marker):
        above.append(urwid.Text(("marker", MARKER_TEXT), wrap="clip"))
    day = line.time.astimezone().date()
    if previous is None or previous.time.astimezone().date() != day:
        if previous is not None or day != datetime.now().astimezone().date():
            above.append(urwid.Text(("time", day.strftime("── %A %Y-%m-%d ──")), wrap="clip"))
    return urwid.Pile([*above, row]) if above else row


class ChatListBox(urwid.ListBox):
    """Lines sit at the bottom, next to the input line, until they fill the view."""

    def render(self, size: tuple[int, int], focus: bool = False) -> urwid.Canvas:  # type: ignore[override]
        maxcol, maxrow = size
        if len(self.body) < maxrow:
            widgets = list(self.body)
            if sum(w.rows((maxcol,)) for w in widgets) < maxrow:
                pile = urwid.Pile(widgets)
                return urwid.Filler(pile, valign="bottom").render(size, False)
        return super().render(size, focus)


def member_markup(member: Member) -> list[tuple[str, str] | str]:
    mark = member.prefixes[:1] or " "
    attr = "away" if member.away else "op" if mark in "~&@%" and mark != " " else ""
    attr = attr or ("voice" if mark == "+" else "")
    return [(attr, mark + member.nick)] if attr else [mark + member.nick]


class BufferView:
    """One buffer's scrollback: its own list walker, so switching keeps the position."""

    def __init__(self, buffer: Buffer, look: Look = Look()) -> None:
        self.buffer = buffer
        self.look = look
        self.walker = urwid.SimpleFocusListWalker([])
        self.listbox = ChatListBox(self.walker)
        self.shown: list[Line] = []
        self.rebuild()

    def rebuild(self, keep: Line | None = None) -> None:
        """Re-read all lines (after history was merged in), keeping the focused line."""
        following = self.at_bottom()
        # The lines the walker shows, in its order: the buffer may have changed since.
        self.shown = list(self.buffer.lines)
        marker = self.buffer.marker
        self.walker[:] = [
            line_widget(line, self.shown[i - 1] if i else None, marker, self.look)
            for i, line in enumerate(self.shown)
        ]
        if not self.walker:
            return
        if keep is not None and keep in self.shown and not following:
            self.walker.set_focus(self.shown.index(keep))
        else:
            self.walker.set_focus(len(self.walker) - 1)

    def focused_line(self) -> Line | None:
        position = self.walker.focus if self.walker else None
        return self.shown[position] if position is not None else None

    def at_bottom(self) -> bool:
        return not self.walker or self.walker.focus == len(self.walker) - 1

    def append(self, line: Line) -> None:
        following = self.at_bottom()
        previous = self.shown[-1] if self.shown else None
        self.shown.append(line)
        self.walker.append(line_widget(line, previous, self.buffer.marker, self.look))
        if following:
            self.walker.set_focus(len(self.walker) - 1)


class InputHistory:
    """Lines typed before, for Up/Down; the line being written is kept as a draft."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.position = 0
        self.draft = ""

    def add(self, text: str) -> None:
        if text and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            del self.entries[:-HISTORY_SIZE]
        self.position = len(self.entries)
        self.draft = ""

    def older(self, current: str) -> str | None:
        if self.position == 0:
            return None
        if self.position == len(self.entries):
            self.draft = current
        self.position -= 1
        return self.entries[self.position]

    def newer(self) -> str | None:
        if self.position >= len(self.entries):
            return None
        self.position += 1
        return self.draft if self.position == len(self.entries) else self.entries[self.position]


class ChatWindow(urwid.WidgetWrap):
    """The whole screen, kept in step with the model through the Listener calls."""

    def __init__(
        self,
        buffers: Buffers,
        own_nick: Callable[[], str],
        on_submit: Callable[[str], None],
        on_scroll_top: Callable[[Buffer], None],
        commands: Callable[[], list[str]],
        chantypes: Callable[[], str] = lambda: "#&",
        away: Callable[[], bool] = lambda: False,
        online: Callable[[], bool] = lambda: True,
        look: Look = Look(),
        notifier: Notifier | None = None,
    ) -> None:
        self.buffers = buffers
        self.look = look
        self.notifier = notifier
        self.own_nick = own_nick
        self.on_submit = on_submit
        self.on_scroll_top = on_scroll_top
        self.chantypes = chantypes
        self.away = away
        self.online = online
        self.views: dict[int, BufferView] = {}
        self.history = InputHistory()
        self.completer = Completer(commands)
        self.topic = urwid.Text("", wrap="ellipsis")
        self.status = urwid.Text("", wrap="ellipsis")
        self.edit = urwid.Edit()
        self.nick_walker = urwid.SimpleFocusListWalker([])
        self.nicklist = urwid.ListBox(self.nick_walker)
        self.body = urwid.Columns([])
        self.divider = urwid.AttrMap(urwid.SolidFill("│"), "divider")
        footer = urwid.Pile([urwid.AttrMap(self.status, "status"), self.edit])
        frame = urwid.Frame(
            self.body, header=urwid.AttrMap(self.topic, "topic"), footer=footer, focus_part="footer"
        )
        super().__init__(frame)
        self._size: tuple[int, int] = (80, 24)
        self._nick_signature: tuple[object, ...] = ()
        self.refresh()

    # -- model to widgets ---------------------------------------------------------

    def view(self, buffer: Buffer) -> BufferView:
        view = self.views.get(id(buffer))
        if view is None or view.buffer is not buffer:
            view = self.views[id(buffer)] = BufferView(buffer, self.look)
        return view

    def line_added(self, buffer: Buffer, line: Line) -> None:
        view = self.views.get(id(buffer))
        if view is not None and view.buffer is buffer:
            view.append(line)
        if self.notifier is not None:
            self.notifier.line_added(buffer, line)

    def history_added(self, buffer: Buffer, lines: list[Line]) -> None:
        view = self.views.get(id(buffer))
        if view is not None and view.buffer is buffer:
            view.rebuild(keep=view.focused_line())

    def changed(self) -> None:
        self.refresh()
        if self.notifier is not None:
            self.notifier.seen(self.buffers)

    def refresh(self) -> None:
        live = {id(b) for b in self.buffers.all}
        for key in [key for key in self.views if key not in live]:
            del self.views[key]
        current = self.buffers.current
        view = self.view(current)
        contents: list[tuple[urwid.Widget, tuple[str, int, bool]]] = [
            (view.listbox, self.body.options("weight", 1))
        ]
        if current.is_channel:
            members = self.sorted_members(current)
            signature = (id(current), *((m.nick, m.prefixes, m.away) for m in members))
            if signature != self._nick_signature:
                # Rebuilt only when someone came, went or changed: refresh runs per line.
                self._nick_signature = signature
                self.nick_walker[:] = [
                    urwid.Text(member_markup(m), wrap="ellipsis") for m in members
                ]
            contents += [
                (self.divider, self.body.options("given", 1)),
                (self.nicklist, self.body.options("given", NICKLIST_WIDTH)),
            ]
        if [w for w, _ in self.body.contents] != [w for w, _ in contents]:
            self.body.contents = contents
            self.body.focus_position = 0
        self.topic.set_text(self.topic_text(current))
        self.status.set_text(self.status_markup())
        self.edit.set_caption(("prompt", f"[{current.name}] "))

    def sorted_members(self, buffer: Buffer) -> list[Member]:
        ranks = "~&@%+"

        def rank(member: Member) -> tuple[int, str]:
            mark = member.prefixes[:1]
            index = ranks.index(mark) if mark and mark in ranks else len(ranks)
            return index, self.buffers.casefold(member.nick)

        return sorted(buffer.members.values(), key=rank)

    def topic_text(self, buffer: Buffer) -> str:
        if buffer.kind is BufferKind.CHANNEL:
            users = f"[{count(len(buffer.members), 'user')}] " if buffer.joined else "[not joined] "
            return f"{buffer.name} {users}{buffer.topic}"
        if buffer.kind is BufferKind.QUERY:
            return f"Private conversation with {buffer.name}"
        if buffer.kind is BufferKind.LIST:
            return "Channel list   /list [-name|-users] [pattern]   /close closes it"
        if buffer.kind is BufferKind.SEARCH:
            return "Search results   /search [-in target] [-from nick] text   /close closes it"
        return f"ircish-client — {buffer.name}   /help for commands"

    def status_markup(self) -> list[tuple[str, str] | str]:
        current = self.buffers.current
        number = self.buffers.number(current)
        nick = self.own_nick() + (" (away)" if self.away() else "")
        markup: list[tuple[str, str] | str] = [f" [{nick}] [{number}:{current.name}]"]
        if not self.online():
            markup.append(("status_mention", " [not connected]"))
        active = [
            (self.buffers.number(b), b)
            for b in self.buffers.all
            if b is not current and (b.unread or b.mentioned)
        ]
        if active:
            markup.append(" [Act: ")
            for index, (num, buffer) in enumerate(active):
                if index:
                    markup.append(",")
                attr = "status_mention" if buffer.mentioned else "status_act"
                markup.append((attr, str(num)))
            markup.append("]")
        if not self.view(current).at_bottom():
            markup.append(("status_act", " -MORE-"))
        return markup

    # -- input ----------------------------------------------------------------------

    def render(self, size: tuple[int, int], focus: bool = False) -> urwid.Canvas:  # type: ignore[override]
        self._size = size
        return super().render(size, focus)

    def keypress(self, size: tuple[int, int], key: str) -> str | None:  # type: ignore[override]
        self._size = size
        if key != "tab":
            self.completer.reset()
        if key == "enter":
            text = self.edit.edit_text
            self.edit.set_edit_text("")
            self.history.add(text)
            if text:
                self.on_submit(text)
            return None
        if key == "tab":
            text, cursor = self.completer.complete(
                self.edit.edit_text,
                self.edit.edit_pos,
                self.buffers,
                self.own_nick(),
                self.chantypes(),
            )
            self.edit.set_edit_text(text)
            self.edit.set_edit_pos(cursor)
            return None
        if key in ("up", "down"):
            text = self.history.older(self.edit.edit_text) if key == "up" else self.history.newer()
            if text is not None:
                self.edit.set_edit_text(text)
                self.edit.set_edit_pos(len(text))
            return None
        if key in ("page up", "page down"):
            self.scroll(key)
            return None
        if key.startswith("meta ") and key[5:].isdigit() and len(key) == 6:
            number = int(key[5:]) or 10
            self.buffers.switch_number(number)
            return None
        if key in EDIT_KEYS:
            self.edit_key(key)
            return None
        if key == "ctrl c":
            self.on_submit("/quit")
            return None
        if key in ("ctrl n", "ctrl p"):
            self.buffers.switch_relative(1 if key == "ctrl n" else -1)
            return None
        return super().keypress(size, key)

    def edit_key(self, key: str) -> None:
        """The shell's line-editing keys, which people type without thinking."""
        text, pos = self.edit.edit_text, self.edit.edit_pos
        if key == "ctrl a":
            pos = 0
        elif key == "ctrl e":
            pos = len(text)
        elif key == "ctrl u":
            text, pos = text[pos:], 0
        elif key == "ctrl k":
            text = text[:pos]
        elif key == "ctrl w":
            start = len(text[:pos].rstrip())
            start = text.rfind(" ", 0, start) + 1
            text, pos = text[:start] + text[pos:], start
        self.edit.set_edit_text(text)
        self.edit.set_edit_pos(pos)

    def body_size(self) -> tuple[int, int]:
        cols, rows = self._size
        footer_rows = 1 + self.edit.rows((cols,))
        body_cols = cols - (NICKLIST_WIDTH + 1 if self.buffers.current.is_channel else 0)
        return max(body_cols, 1), max(rows - 1 - footer_rows, 1)

    def scroll(self, key: str) -> None:
        current = self.buffers.current
        view = self.view(current)
        if not view.walker:
            if key == "page up":
                self.on_scroll_top(current)
            return
        view.listbox.keypress(self.body_size(), key)
        if key == "page up" and self._at_top(view):
            self.on_scroll_top(current)
        self.refresh()

    def _at_top(self, view: BufferView) -> bool:
        if view.walker.focus != 0:
            return False
        middle, top, *_ = view.listbox.calculate_visible(self.body_size())
        offset = middle[0]
        return offset >= 0 and not top[1]
