"""Screenshots of the built-in web client, desktop and phone width.

    .venv/bin/python docs/web_screenshot.py

Starts an ircish server in-process (history in a temporary SQLite file, the
WebSocket listener on a free port), a few scripted users on TCP who chat, then
Debian's headless Chromium (/usr/bin/chromium and /usr/bin/chromedriver,
driven by selenium) logs in to the web client. Writes docs/web-desktop.png
(1280x800) and docs/web-phone.png (390x844).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.browser import (  # noqa: E402
    ServerThread,
    browser_missing,
    chromium,
    js,
    login,
    set_viewport,
    type_line,
    wait_for,
    wait_for_text,
)
from tests.web.test_browser import CONFIG, Tcp  # noqa: E402

OUT = ROOT / "docs"
DESKTOP = (1280, 800)
PHONE = (390, 844)

# Said before the browser joins: it arrives as history (CHATHISTORY LATEST).
EARLIER = [
    ("ada", "#ircish", "morning! did anyone try the new web client yet?"),
    ("linus", "#ircish", "yes: the server serves it, just open the WebSocket port in a browser"),
    ("grace", "#ircish", "and it scrolls back through history, with \x02server-time\x02 stamps"),
    ("ada", "#ircish", "search works too: the box at the top asks the server (soju.im/search)"),
    ("linus", "#ircish", "the spec is at https://ircv3.net/specs/extensions/websocket"),
    ("grace", "#python", "trio nurseries make the shutdown order obvious"),
    ("ada", "#python", "\x0303green\x03 tests, \x0304red\x03 CI: it was the clock again"),
]
LATER = [
    ("linus", "#ircish", "\x01ACTION hands out cookies\x01"),
    ("grace", "#ircish", "sam: welcome! the nick list on the right shows ops with @"),
    ("grace", "#python", "anyone up for reviewing the fan-out patch?"),
]


def main() -> int:
    reason = browser_missing()
    if reason:
        print(f"web_screenshot: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerThread(Path(tmp) / "server", CONFIG)
        (Path(tmp) / "server").mkdir()
        server.start()
        users: dict[str, Tcp] = {}
        try:
            for nick in ("grace", "ada", "linus"):
                users[nick] = Tcp(server, nick)
                users[nick].send("JOIN #ircish", "JOIN #python")
            users["grace"].send("TOPIC #ircish :ircish: an IRC server on Trio \x02·\x02 "
                                "https://example.org/ircish")
            users["grace"].send("MODE #ircish +v ada")
            for nick, target, text in EARLIER:
                users[nick].send(f"PRIVMSG {target} :{text}")
                time.sleep(0.05)
            for user in users.values():
                user.send("PING :written")
                user.expect("PONG")
            with chromium(*DESKTOP, Path(tmp) / "chrome") as driver:
                login(driver, server.url, "sam")
                type_line(driver, "/join #python")
                wait_for_text(driver, "trio nurseries make the shutdown order obvious")
                type_line(driver, "/join #ircish")
                wait_for_text(driver, EARLIER[0][2])
                type_line(driver, "hi all, trying it from the browser")
                for nick, target, text in LATER:
                    users[nick].send(f"PRIVMSG {target} :{text}")
                users["ada"].send("PRIVMSG sam :psst: /search works in here too")
                wait_for_text(driver, LATER[1][2])
                wait_for(driver, lambda d: js(d, "return window.ircish.buffer('ada') != null"))
                time.sleep(0.3)
                driver.save_screenshot(str(OUT / "web-desktop.png"))
                set_viewport(driver, *PHONE)
                time.sleep(0.3)
                js(driver, "const m = document.getElementById('messages');"
                           "m.scrollTop = m.scrollHeight")
                driver.save_screenshot(str(OUT / "web-phone.png"))
        finally:
            for user in users.values():
                user.close()
            server.stop()
    print(f"wrote {OUT / 'web-desktop.png'} and {OUT / 'web-phone.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
