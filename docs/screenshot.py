"""Render ircish-client in a fixed-size terminal and save what it shows.

    .venv/bin/python docs/screenshot.py

Starts an ircish server in-process, a few scripted users who chat, and the
real client inside a detached 100x28 tmux session; then captures the pane.
Writes docs/client-screenshot.txt (plain text), docs/client-screenshot.svg
(with colours) and, when ``rsvg-convert`` is installed (Debian:
librsvg2-bin), docs/client-screenshot.png. Needs tmux.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ircish.testing import start_server  # noqa: E402

COLS, ROWS = 100, 28
SESSION = "ircish-screenshot"
OUT = ROOT / "docs"

# The xterm palette for the 16 basic colours.
COLOURS = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]  # fmt: skip
FOREGROUND, BACKGROUND = "#d0d0d0", "#1c1c1c"


class Bot:
    def __init__(self, stream: trio.SocketStream, nick: str) -> None:
        self.stream = stream
        self.nick = nick

    @classmethod
    async def connect(cls, port: int, nick: str) -> Bot:
        bot = cls(await trio.open_tcp_stream("127.0.0.1", port), nick)
        await bot.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        await bot.wait_for(b" 001 ")
        return bot

    async def send(self, *lines: str) -> None:
        await self.stream.send_all("".join(line + "\r\n" for line in lines).encode())
        await trio.sleep(0.15)

    async def wait_for(self, needle: bytes) -> None:
        data = b""
        with trio.fail_after(5):
            while needle not in data:
                data += await self.stream.receive_some(65536)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


async def scene(port: int) -> str:
    carol = await Bot.connect(port, "carol")
    await carol.send("JOIN #lobby", "TOPIC #lobby :Welcome to ircish — be kind, share code")
    bob = await Bot.connect(port, "bob")
    dave = await Bot.connect(port, "dave")
    grace = await Bot.connect(port, "grace")
    await bob.send("JOIN #lobby")
    await dave.send("JOIN #lobby")
    await grace.send("JOIN #trio", "JOIN #lobby")
    await carol.send("MODE #lobby +v bob")

    client = f"{sys.executable} -m ircish.client.cli --port {port} --nick ada --join '#lobby,#trio'"
    env = f"cd {ROOT} && XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color "
    tmux("new-session", "-d", "-s", SESSION, "-x", str(COLS), "-y", str(ROWS), env + client)
    try:
        await trio.sleep(2.0)
        await bob.send("PRIVMSG #lobby :morning all")
        await carol.send("PRIVMSG #lobby :ada: the client landed, try /help 🎉")
        await dave.send("PRIVMSG #lobby :\x01ACTION waves from Kyoto 京都\x01")
        await grace.send("PRIVMSG #trio :nursery docs are up for review")
        await bob.send("PRIVMSG ada :lunch later?")
        tmux("send-keys", "-t", SESSION, "thanks car", "Tab", "works nicely here", "Enter")
        await trio.sleep(0.5)
        # Away to #trio and back: what came meanwhile sits under the "last read" line.
        tmux("send-keys", "-t", SESSION, "M-3")
        await trio.sleep(0.3)
        await dave.send("PRIVMSG #lobby :long lines wrap at the window edge, wide text too: "
                        "漢字とかなの混じった文も崩れません")  # fmt: skip
        await grace.send("PRIVMSG #lobby :\x02\x0304release\x03\x02 \x0312v0.2\x03 is "
                         "\x1dout\x1d: \x0309,01mIRC colours\x03 and \x0356,88the 99\x0f too")
        await trio.sleep(0.3)
        tmux("send-keys", "-t", SESSION, "M-2")
        tmux("send-keys", "-t", SESSION, "/whois da", "Tab")
        await trio.sleep(0.8)
        return tmux("capture-pane", "-p", "-e", "-t", SESSION)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], check=False)


def xterm256(index: int) -> str:
    """The RGB of an xterm 256-colour index: the 16, the 6x6x6 cube, the grey ramp."""
    if index < 16:
        return COLOURS[index]
    if index >= 232:
        grey = 8 + 10 * (index - 232)
        return f"#{grey:02x}{grey:02x}{grey:02x}"
    index -= 16
    levels = [0 if v == 0 else 55 + 40 * v for v in (index // 36, index // 6 % 6, index % 6)]
    return "#" + "".join(f"{v:02x}" for v in levels)


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(ansi: str) -> list[list[tuple[str, str, str, bool]]]:
    """Each row as (text, fg, bg, bold) runs, from tmux's escape-coded capture."""
    rows = []
    for line in ansi.split("\n")[:ROWS]:
        fg, bg, bold, reverse = FOREGROUND, BACKGROUND, False, False
        runs: list[tuple[str, str, str, bool]] = []
        position = 0
        for match in [*SGR.finditer(line), None]:
            end = match.start() if match else len(line)
            if end > position:
                colours = (bg, fg) if reverse else (fg, bg)
                runs.append((line[position:end], *colours, bold))
            if match is None:
                break
            position = match.end()
            codes = [int(c) if c else 0 for c in match.group(1).split(";")]
            i = 0
            while i < len(codes):
                code = codes[i]
                if code == 0:
                    fg, bg, bold, reverse = FOREGROUND, BACKGROUND, False, False
                elif code == 1:
                    bold = True
                elif code == 7:
                    reverse = True
                elif code == 22:
                    bold = False
                elif 30 <= code <= 37 or 90 <= code <= 97:
                    fg = COLOURS[code - 30 if code < 90 else code - 82]
                elif code == 39:
                    fg = FOREGROUND
                elif 40 <= code <= 47 or 100 <= code <= 107:
                    bg = COLOURS[code - 40 if code < 100 else code - 92]
                elif code == 49:
                    bg = BACKGROUND
                elif code in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                    colour = xterm256(codes[i + 2])
                    fg, bg = (colour, bg) if code == 38 else (fg, colour)
                    i += 2
                i += 1
        # tmux leaves out trailing blanks; a coloured bar still spans the row.
        used = sum(cell_width(ch) for text, *_ in runs for ch in text)
        if runs and runs[-1][2] != BACKGROUND and used < COLS:
            runs.append((" " * (COLS - used), fg, runs[-1][2], False))
        rows.append(runs)
    return rows


def cell_width(char: str) -> int:
    if unicodedata.combining(char) or char in "\u200b\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def svg(rows: list[list[tuple[str, str, str, bool]]]) -> str:
    cw, ch = 9, 18
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{COLS * cw + 16}" '
        # Only the monospace face is named: fontconfig finds CJK and emoji faces
        # itself, while naming an emoji font would draw digits as emoji.
        f'height="{ROWS * ch + 16}" font-family="DejaVu Sans Mono, monospace" font-size="15">',
        f'<rect width="100%" height="100%" fill="{BACKGROUND}" rx="6"/>',
    ]
    for y, runs in enumerate(rows):
        column = 0
        for text, fg, bg, bold in runs:
            for char in text:
                width = cell_width(char)
                if width == 0:
                    continue
                x, top = 8 + column * cw, 8 + y * ch
                if bg != BACKGROUND:
                    out.append(f'<rect x="{x}" y="{top}" width="{cw * width}" height="{ch}" '
                               f'fill="{bg}"/>')  # fmt: skip
                if char != " ":
                    weight = ' font-weight="bold"' if bold else ""
                    out.append(f'<text x="{x}" y="{top + 14}" fill="{fg}"{weight}>'
                               f"{html.escape(char)}</text>")  # fmt: skip
                column += width
    out.append("</svg>")
    return "\n".join(out)


async def main() -> None:
    if shutil.which("tmux") is None:
        sys.exit("screenshot.py needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory() as tmp:
        async with start_server(Path(tmp), config={"channels": {"auto_join": []}}) as srv:
            ansi = await scene(srv.port)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ansi)
    (OUT / "client-screenshot.txt").write_text(
        "\n".join(line.rstrip() for line in plain.split("\n")[:ROWS]) + "\n"
    )
    (OUT / "client-screenshot.svg").write_text(svg(cells(ansi)))
    if shutil.which("rsvg-convert"):
        subprocess.run(
            ["rsvg-convert", "-o", str(OUT / "client-screenshot.png"),
             str(OUT / "client-screenshot.svg")],
            check=True,
        )  # fmt: skip
    print(plain)
    print("written:", ", ".join(sorted(p.name for p in OUT.glob("client-screenshot.*"))))


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    trio.run(main)
