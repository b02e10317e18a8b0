"""mIRC formatting codes read into styled runs, for the view to paint.

Pure string work: :func:`runs` turns a message into ``(Style, text)`` pieces;
the widgets decide how a :class:`Style` looks on the terminal at hand, so this
module knows nothing of urwid. Colours are kept as mIRC numbers (0-98) or as
``#rrggbb`` from the hex code, and :func:`rgb` gives every one a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

BOLD, COLOUR, HEX, RESET, MONO = "\x02", "\x03", "\x04", "\x0f", "\x11"
REVERSE, ITALIC, STRIKE, UNDERLINE = "\x16", "\x1d", "\x1e", "\x1f"

# The colour code takes up to two digits each for the foreground and, after a
# comma, the background; a comma without digits after it is text.
_CODE = re.compile(
    r"\x03(?:(\d{1,2})(?:,(\d{1,2}))?)?"
    r"|\x04(?:([0-9a-fA-F]{6})(?:,([0-9a-fA-F]{6}))?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# 0-15: the colours mIRC has always had; 16-98: the extended table of mIRC 7
# (six brightness rows of twelve hues, then a grey ramp). 99 means "default".
_BASE = (
    "ffffff 000000 00007f 009300 ff0000 7f0000 9c009c fc7f00 "
    "ffff00 00fc00 009393 00ffff 0000fc ff00ff 7f7f7f d2d2d2"
)
_EXTENDED = (
    "470000 472100 474700 324700 004700 00472c 004747 002747 000047 2e0047 470047 47002a "
    "740000 743a00 747400 517400 007400 007449 007474 004074 000074 4b0074 740074 740045 "
    "b50000 b56300 b5b500 7db500 00b500 00b571 00b5b5 0063b5 0000b5 7500b5 b500b5 b5006b "
    "ff0000 ff8c00 ffff00 b2ff00 00ff00 00ffa0 00ffff 008cff 0000ff a500ff ff00ff ff0098 "
    "ff5959 ffb459 ffff71 cfff60 6fff6f 65ffc9 6dffff 59b4ff 5959ff c459ff ff66ff ff59bc "
    "ff9c9c ffd39c ffff9c e2ff9c 9cff9c 9cffdb 9cffff 9cd3ff 9c9cff dc9cff ff9cff ff94d3 "
    "000000 131313 282828 363636 4d4d4d 656565 818181 9f9f9f bcbcbc e2e2e2 ffffff"
)
PALETTE_RGB: tuple[str, ...] = tuple(_BASE.split() + _EXTENDED.split())
assert len(PALETTE_RGB) == 99

Colour = int | str  # a mIRC colour number, or "#rrggbb"


@dataclass(frozen=True, slots=True)
class Style:
    bold: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False
    monospace: bool = False
    fg: Colour | None = None
    bg: Colour | None = None

    @property
    def plain(self) -> bool:
        return self == PLAIN


PLAIN = Style()


def _colour(number: str | None) -> Colour | None:
    if number is None:
        return None
    value = int(number)
    return value if value < 99 else None


def runs(text: str) -> list[tuple[Style, str]]:
    """The text cut where its style changes, codes removed (and other controls too)."""
    pieces: list[tuple[Style, str]] = []
    style = PLAIN
    position = 0

    def emit(chunk: str) -> None:
        chunk = _CONTROLS.sub("", chunk)
        if not chunk:
            return
        if pieces and pieces[-1][0] == style:
            pieces[-1] = (style, pieces[-1][1] + chunk)
        else:
            pieces.append((style, chunk))

    for match in _CODE.finditer(text):
        emit(text[position : match.start()])
        position = match.end()
        code = match.group(0)[0]
        if code == COLOUR or code == HEX:
            if code == COLOUR:
                fg_raw, bg_raw = match.group(1), match.group(2)
                fg, bg = _colour(fg_raw), _colour(bg_raw)
            else:
                fg_raw, bg_raw = match.group(3), match.group(4)
                fg = "#" + fg_raw.lower() if fg_raw else None
                bg = "#" + bg_raw.lower() if bg_raw else None
            if fg_raw is None:  # a bare code ends the colours
                style = replace(style, fg=None, bg=None)
            else:
                style = replace(style, fg=fg, bg=bg if bg_raw is not None else style.bg)
        elif code == RESET:
            style = PLAIN
        else:
            flag = {
                BOLD: "bold",
                ITALIC: "italic",
                UNDERLINE: "underline",
                REVERSE: "reverse",
                STRIKE: "strike",
                MONO: "monospace",
            }[code]
            style = replace(style, **{flag: not getattr(style, flag)})
    emit(text[position:])
    return pieces


def strip(text: str) -> str:
    return "".join(chunk for _, chunk in runs(text))


def has_codes(text: str) -> bool:
    return _CODE.search(text) is not None


def rgb(colour: Colour) -> tuple[int, int, int]:
    value = colour[1:] if isinstance(colour, str) else PALETTE_RGB[colour]
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# urwid's sixteen colour names with xterm's default RGB for them, for the
# nearest match when the terminal has no more than sixteen colours.
BASIC_RGB: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark red": (205, 0, 0),
    "dark green": (0, 205, 0),
    "brown": (205, 205, 0),
    "dark blue": (0, 0, 238),
    "dark magenta": (205, 0, 205),
    "dark cyan": (0, 205, 205),
    "light gray": (229, 229, 229),
    "dark gray": (127, 127, 127),
    "light red": (255, 0, 0),
    "light green": (0, 255, 0),
    "yellow": (255, 255, 0),
    "light blue": (92, 92, 255),
    "light magenta": (255, 0, 255),
    "light cyan": (0, 255, 255),
    "white": (255, 255, 255),
}
# The first sixteen as mIRC means them, named directly rather than by distance.
BASIC_NAMES = (
    "white",
    "black",
    "dark blue",
    "dark green",
    "light red",
    "dark red",
    "dark magenta",
    "brown",
    "yellow",
    "light green",
    "dark cyan",
    "light cyan",
    "light blue",
    "light magenta",
    "dark gray",
    "light gray",
)


def basic_name(colour: Colour) -> str:
    """The nearest of the terminal's sixteen colours."""
    if isinstance(colour, int) and colour < 16:
        return BASIC_NAMES[colour]
    red, green, blue = rgb(colour)
    return min(
        BASIC_RGB,
        key=lambda name: sum(
            (a - b) ** 2 for a, b in zip(BASIC_RGB[name], (red, green, blue), strict=True)
        ),
    )


def high_name(colour: Colour) -> str:
    """The colour for a 256-colour terminal, in urwid's ``#rgb`` notation."""
    if isinstance(colour, int) and colour < 16:
        return BASIC_NAMES[colour]
    return "#" + "".join(f"{round(part / 17):x}" for part in rgb(colour))
