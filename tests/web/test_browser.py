"""The built-in web client in a real browser (Debian's headless Chromium).

One server (history in a temporary SQLite file, accounts on) and one browser
serve the whole module; a second browser and raw TCP clients join in where a
test needs them. The last test restarts the server on the same ports.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ircish.protocol import Message
from tests.ircclient import RawClient
from tests.web.browser import (
    ServerThread,
    active_buffer,
    browser_log,
    browser_missing,
    chromium,
    js,
    login,
    message_texts,
    type_line,
    wait_for,
    wait_for_text,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]

CONFIG: dict[str, Any] = {
    "storage": {"url": "sqlite:///history.db", "flush_interval_ms": 20},
    "history": {"chathistory_max": 100},
    "accounts": {"nick_reservation": "off"},
    # The tests send bursts of lines; fakelag is not what they are about.
    "limits": {"flood_burst": 1000},
}
DESKTOP = (1280, 800)
PHONE = (390, 844)


class Tcp:
    """A raw TCP client on the server's loop, driven from the test's thread."""

    def __init__(self, server: ServerThread, nick: str,
                 caps: list[str] | None = None) -> None:
        self.server = server
        self.client: RawClient = server.run(RawClient.connect, server.tcp_port)
        server.run(self.client.register, nick, caps)

    def send(self, *lines: str) -> None:
        self.server.run(self.client.send, *lines)

    def expect(self, command: Any, timeout: float = 10.0) -> Message:
        async def go() -> Message:
            return await self.client.expect(command, timeout)

        return self.server.run(go)

    def close(self) -> None:
        self.server.run(self.client.aclose)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    srv = ServerThread(tmp_path_factory.mktemp("webserver"), CONFIG)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def alice(server: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(*DESKTOP, tmp_path_factory.mktemp("chrome-alice")) as driver:
        login(driver, server.url, "alice")
        yield driver


def join(driver: Any, channel: str) -> None:
    type_line(driver, f"/join {channel}")
    wait_for(driver, lambda d: active_buffer(d) == channel, message=f"{channel} never opened")
    wait_for(driver, lambda d: js(d, "return window.ircish.activeBuffer().joined"))


def member_names(driver: Any) -> list[str]:
    return js(driver, "return [...document.querySelectorAll('#member-list .member')]"
                      ".map(e => e.textContent)")


def badge(driver: Any, name: str) -> str:
    return js(driver, """
        const li = [...document.querySelectorAll('#buffers .buffer')]
            .find(e => e.querySelector('.buffer-name').textContent === arguments[0]);
        const b = li && li.querySelector('.badge');
        return b ? b.className + ':' + b.textContent : '';""", name)


def switch_to(driver: Any, name: str) -> None:
    js(driver, """
        [...document.querySelectorAll('#buffers .buffer-button')]
            .find(e => e.querySelector('.buffer-name').textContent === arguments[0]).click();""",
       name)
    wait_for(driver, lambda d: active_buffer(d) == name)


def csp_violations(driver: Any) -> list[str]:
    return [e["message"] for e in browser_log(driver)
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


# -- the page and its policy ----------------------------------------------------------------


def test_page_is_served_with_a_strict_policy_and_runs_without_violations(
    server: ServerThread, alice: Any
) -> None:
    with urllib.request.urlopen(server.url, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
        assert "text/html" in response.headers["Content-Type"]
    assert policy is not None
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    # The page logged in (fixture), joins and renders formatting: nothing was refused.
    join(alice, "#policy")
    bob = Tcp(server, "pbob")
    try:
        bob.send("JOIN #policy", "PRIVMSG #policy :\x02bold\x02 \x0304,12red on blue\x03 "
                 "\x1ditalic\x1d https://example.org/x")
        wait_for_text(alice, "bold red on blue italic https://example.org/x")
    finally:
        bob.close()
    assert js(alice, "return document.querySelectorAll('#messages .irc-fg4.irc-bg12').length") == 1
    assert csp_violations(alice) == []
    assert js(alice, "return document.querySelectorAll('#messages [style]').length") == 0


def test_hex_colours_render_through_the_cssom_under_the_policy(
    server: ServerThread, alice: Any
) -> None:
    join(alice, "#hex")
    bob = Tcp(server, "hbob")
    try:
        bob.send("JOIN #hex", "PRIVMSG #hex :\x04FF8800,001122orange on navy\x04 plain "
                 "\x04ff0000,00ff00\x16swapped\x0f \x0304,12palette\x03 \x04zz end")
        wait_for_text(alice, "orange on navy plain swapped palette zz end")
    finally:
        bob.close()
    spans = js(alice, """
        const line = [...document.querySelectorAll('#messages .line .text')]
            .find(e => e.textContent === arguments[0]);
        return [...line.querySelectorAll('span')].map(s => {
            const c = getComputedStyle(s);
            return [s.textContent, c.color, c.backgroundColor, s.className];
        });""", "orange on navy plain swapped palette zz end")
    assert ["orange on navy", "rgb(255, 136, 0)", "rgb(0, 17, 34)", ""] in spans
    # Reverse swaps them, as it swaps palette colours.
    assert ["swapped", "rgb(0, 255, 0)", "rgb(255, 0, 0)", "irc-rev"] in spans
    assert any(s[0] == "palette" and s[3] == "irc-fg4 irc-bg12" for s in spans), spans
    # \x04 with no digits ends the colour; the codes themselves are never shown.
    assert not any("plain" in s[0] or "end" in s[0] for s in spans), spans
    assert csp_violations(alice) == []


# -- chat -----------------------------------------------------------------------------------


def test_login_join_and_chat_with_a_tcp_client(server: ServerThread, alice: Any) -> None:
    join(alice, "#web")
    bob = Tcp(server, "bob", ["message-tags", "server-time"])
    try:
        bob.send("JOIN #web")
        wait_for(alice, lambda d: "bob" in member_names(d), message="bob not in the nick list")
        assert "@alice" in member_names(alice)

        bob.send("PRIVMSG #web :hello from a terminal")
        wait_for_text(alice, "hello from a terminal")
        type_line(alice, "hi bob, from the browser")
        got = bob.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "#web")
        assert got.params[1] == "hi bob, from the browser"
        assert got.source is not None and got.source.startswith("alice!")

        # The timestamp shown is the server's (server-time), in the line's <time>.
        stamp = js(alice, "return [...document.querySelectorAll('#messages .line')]"
                          ".at(-1).querySelector('time').dateTime")
        assert stamp.endswith("Z") and "T" in stamp

        # A link is a safe link; /me is an action; a private message opens a window.
        bob.send("PRIVMSG #web :see https://example.org/page?a=1.",
                 "PRIVMSG #web :\x01ACTION waves\x01")
        wait_for_text(alice, "* bob waves")
        link = js(alice, "const a = [...document.querySelectorAll('#messages a')].at(-1);"
                         "return [a.href, a.rel, a.target, a.textContent]")
        assert link == ["https://example.org/page?a=1", "noopener noreferrer", "_blank",
                        "https://example.org/page?a=1"]

        bob.send("PRIVMSG alice :psst, alice")
        wait_for(alice, lambda d: badge(d, "bob").startswith("badge mention:1"),
                 message="no mention badge on bob's conversation")
        switch_to(alice, "bob")
        wait_for_text(alice, "psst, alice")
        type_line(alice, "/msg bob private answer")
        got = bob.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "bob")
        assert got.params[1] == "private answer"

        # Mode changes reach the nick list.
        switch_to(alice, "#web")
        type_line(alice, "/quote MODE #web +v bob")
        wait_for(alice, lambda d: "+bob" in member_names(d), message="bob was not voiced")
        bob.send("PART #web :bye")
        wait_for(alice, lambda d: "+bob" not in member_names(d))

        # /nick renames us everywhere: the sidebar, the nick list.
        type_line(alice, "/nick alice_")
        wait_for(alice, lambda d: d.find_element("id", "me").text == "alice_")
        wait_for(alice, lambda d: "@alice_" in member_names(d))
        type_line(alice, "/nick alice")
        wait_for(alice, lambda d: "@alice" in member_names(d))
    finally:
        bob.close()


def test_a_long_open_conversation_keeps_a_bounded_number_of_lines(alice: Any) -> None:
    kept = js(alice, """
        const c = window.ircish;
        const buf = c.ensureBuffer('#busy', 'channel');
        for (let i = 0; i < 4600; i++) {
            const line = c.makeLine('privmsg', 'someone', 'line ' + i, null);
            line.msgid = 'm' + i;
            c.addLine(buf, line);
        }
        const out = [buf.lines.length, buf.lines[0].text, buf.msgids.has('m0'),
                     buf.historyDone];
        c.closeBuffer('#busy');
        return out;""")
    # Trimmed by 500 each time it passes 4000: at the 4001st and the 4501st line.
    assert kept == [3600, "line 1000", False, False]


def test_a_second_browser_on_a_phone_sized_window(
    server: ServerThread, alice: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    switch_to(alice, "#web")
    with chromium(*PHONE, tmp_path_factory.mktemp("chrome-carol")) as carol:
        login(carol, server.url, "carol")
        # At phone width the sidebar is off the screen until the menu button opens it.
        menu = carol.find_element("id", "menu-button")
        assert menu.is_displayed()
        sidebar_right = "return document.getElementById('sidebar').getBoundingClientRect().right"
        assert js(carol, sidebar_right) <= 0
        menu.click()
        wait_for(carol, lambda d: js(d, sidebar_right) > 100, message="the sidebar never opened")
        carol.find_element("id", "join-input").send_keys("#web")
        carol.find_element("css selector", "#join-form button").click()
        wait_for(carol, lambda d: active_buffer(d) == "#web")
        wait_for(carol, lambda d: js(d, sidebar_right) <= 0, message="the sidebar stayed open")
        # Nothing is wider than the screen.
        assert js(carol, "return document.documentElement.scrollWidth") <= PHONE[0]

        wait_for(alice, lambda d: "carol" in member_names(d))
        type_line(carol, "hello from a phone")
        wait_for_text(alice, "hello from a phone")
        type_line(alice, "hello back, carol")
        wait_for_text(carol, "hello back, carol")

        # Lines said while alice looks elsewhere count as unread, her name as a mention.
        switch_to(alice, "bob")
        type_line(carol, "just chatting")
        wait_for(alice, lambda d: badge(d, "#web") == "badge unread:1")
        type_line(carol, "alice: are you there?")
        wait_for(alice, lambda d: badge(d, "#web") == "badge mention:1")
        switch_to(alice, "#web")
        assert badge(alice, "#web") == ""
        assert csp_violations(carol) == []


# -- history --------------------------------------------------------------------------------


def test_history_on_join_and_older_lines_when_scrolling_up(
    server: ServerThread, alice: Any
) -> None:
    # dave stays: a channel that emptied starts a new history when it is made again.
    dave = Tcp(server, "dave")
    try:
        dave.send("JOIN #hist", *(f"PRIVMSG #hist :history line {i:03}" for i in range(130)))
        dave.send("PING :written")
        dave.expect("PONG")
        join(alice, "#hist")
        check_history(alice)
    finally:
        dave.close()


def check_history(alice: Any) -> None:
    # CHATHISTORY LATEST: the last 50 lines, not the older ones.
    wait_for_text(alice, "history line 129")
    wait_for_text(alice, "history line 080")
    assert "history line 079" not in message_texts(alice)

    def scroll_to_top(driver: Any) -> None:
        js(driver, "const m = document.getElementById('messages'); m.scrollTop = 0;"
                   "m.dispatchEvent(new Event('scroll'));")

    # Two pages of BEFORE reach the first line; the view keeps its place meanwhile.
    scroll_to_top(alice)
    wait_for_text(alice, "history line 030")
    assert js(alice, "return document.getElementById('messages').scrollTop") > 0
    scroll_to_top(alice)
    wait_for_text(alice, "history line 000")
    wait_for(alice, lambda d: js(d, "return document.querySelector('.history-note.done') !== null"),
             message="the start of history was never marked")
    texts = [t for t in message_texts(alice) if t.startswith("history line")]
    assert texts == [f"history line {i:03}" for i in range(130)]


# -- escaping -------------------------------------------------------------------------------


XSS_LINES = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "javascript:alert(1)",
    "look: javascript:alert(document.cookie)//https://example.org",
    "<a href=\"javascript:alert(2)\">click</a>",
]


def test_markup_from_the_network_renders_as_text(server: ServerThread, alice: Any) -> None:
    mallory = Tcp(server, "mallory")
    try:
        # mallory made the channel, so its topic reaches alice in the join burst (332).
        mallory.send("JOIN #xss", "TOPIC #xss :<img src=x onerror=\"window.__xss = 'topic'\">")
        mallory.expect("TOPIC")
        join(alice, "#xss")
        mallory.send(*(f"PRIVMSG #xss :{line}" for line in XSS_LINES), "PRIVMSG #xss :over")
        wait_for_text(alice, "over")
    finally:
        mallory.close()
    texts = message_texts(alice)
    end = texts.index("over")
    assert texts[end - len(XSS_LINES):end] == XSS_LINES, texts
    assert js(alice, "return document.getElementById('topic').textContent") == \
        "<img src=x onerror=\"window.__xss = 'topic'\">"
    for selector in ("#messages img", "#messages script", "#topic img",
                     "#messages [onerror]", "#messages iframe"):
        assert js(alice, f"return document.querySelectorAll({selector!r}).length") == 0, selector
    hrefs = js(alice, "return [...document.querySelectorAll('#messages a, #topic a')]"
                      ".map(a => a.href)")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert js(alice, "return window.__xss === undefined")
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        alice.switch_to.alert.text  # noqa: B018 (reading it is the check)


# -- accounts -------------------------------------------------------------------------------

# Long enough that SASL PLAIN's payload needs two AUTHENTICATE chunks, and not ASCII.
PASSWORD = "pässwörd-" + "k" * 320


def test_login_to_an_account_with_sasl_plain(
    server: ServerThread, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gina = Tcp(server, "gina")
    try:
        gina.send(f"REGISTER * * {PASSWORD}")
        done = gina.expect(lambda m: m.command in ("REGISTER", "FAIL"))
        assert done.params[0] == "SUCCESS", done
    finally:
        gina.close()
    with chromium(*DESKTOP, tmp_path_factory.mktemp("chrome-gina")) as driver:
        driver.get(server.url)
        wait_for(driver, lambda d: d.find_element("id", "login-nick")).send_keys("gina")
        js(driver, "document.getElementById('login-account-box').open = true")
        driver.find_element("id", "login-account").send_keys("gina")
        driver.find_element("id", "login-password").send_keys("wrong password")
        driver.find_element("id", "login-submit").click()
        # A refused login goes back to the form with the server's reason, no retry loop.
        wait_for(driver, lambda d: d.find_element("id", "login-error").text != "",
                 message="a wrong password was not reported")
        assert driver.find_element("id", "login").is_displayed()
        assert "Login failed" in driver.find_element("id", "login-error").text
        assert js(driver, "return window.ircish.stopped")

        driver.find_element("id", "login-password").send_keys(PASSWORD)
        driver.find_element("id", "login-submit").click()
        wait_for(driver, lambda d: js(d, "return window.ircish.registered"),
                 message="gina did not register")
        who = Tcp(server, "whoasks")
        try:
            who.send("WHOIS gina")
            account = who.expect(lambda m: m.command in ("330", "318"))
        finally:
            who.close()
        assert account.command == "330" and account.params[2] == "gina", account
        # The nick and account name may be remembered, the password never.
        stored = js(driver, "return JSON.stringify({...localStorage})")
        assert "gina" in stored and "kkkk" not in stored and "wrong" not in stored
        assert "kkkk" not in driver.current_url
        assert driver.find_element("id", "login-password").get_attribute("value") == ""

        # A private line to the account, then a fresh page: the conversation is listed
        # again (CHATHISTORY TARGETS) and opens with what was said (LATEST).
        ivan = Tcp(server, "ivan")
        try:
            ivan.send("PRIVMSG gina :remember this one", "PING :sent")
            ivan.expect("PONG")
            wait_for(driver, lambda d: badge(d, "ivan") == "badge mention:1")
            driver.refresh()
            wait_for(driver, lambda d: d.find_element("id", "login-account").get_attribute(
                "value") == "gina", message="the account name was not remembered")
            driver.find_element("id", "login-password").send_keys(PASSWORD)
            driver.find_element("id", "login-submit").click()
            wait_for(driver, lambda d: js(d, "return window.ircish.buffer('ivan') != null"),
                     message="the private conversation was not listed after a reload")
            switch_to(driver, "ivan")
            wait_for_text(driver, "remember this one")
        finally:
            ivan.close()


# -- search ---------------------------------------------------------------------------------


def test_search_box_finds_lines_in_history(server: ServerThread, alice: Any) -> None:
    offered = js(alice, "return [...window.ircish.offered.keys()]")
    if "soju.im/search" not in offered:
        pytest.skip("this server does not advertise soju.im/search; nothing to search with")
    erin = Tcp(server, "erin")
    try:
        erin.send("JOIN #find", "PRIVMSG #find :the quick brown zebra jumps",
                  "PRIVMSG #find :nothing to see here", "PRIVMSG #find :another zebra crossing")
        erin.send("PING :written")
        erin.expect("PONG")
        join(alice, "#find")
        search_for_zebras(alice)
    finally:
        erin.close()


def search_for_zebras(alice: Any) -> None:
    box = alice.find_element("id", "search-input")
    assert box.is_enabled()
    box.send_keys("zebra\n")
    wait_for(alice, lambda d: js(d, "return document.querySelectorAll('#results-list .result')"
                                    ".length") == 2, message="no search results")
    results = js(alice, "return [...document.querySelectorAll('#results-list .result .text')]"
                        ".map(e => e.textContent)")
    assert sorted(results) == ["another zebra crossing", "the quick brown zebra jumps"]
    assert "2 results" in alice.find_element("id", "results-title").text
    # Two words: both must appear.
    box.clear()
    box.send_keys("brown zebra\n")
    wait_for(alice, lambda d: "1 result for" in d.find_element("id", "results-title").text,
             message="the two-word search did not narrow the results")
    results = js(alice, "return [...document.querySelectorAll('#results-list .result .text')]"
                        ".map(e => e.textContent)")
    assert results == ["the quick brown zebra jumps"]
    # A result leads to its line in the conversation.
    switch_to(alice, "server")
    alice.find_element("css selector", "#results-list .result").click()
    wait_for(alice, lambda d: active_buffer(d) == "#find")
    wait_for(alice, lambda d: js(d, "const f = document.querySelector('#messages .line.flash');"
                                    "return f && f.querySelector('.text').textContent")
             == "the quick brown zebra jumps", message="the result's line was not shown")


def test_without_history_the_search_box_says_search_is_unavailable(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    bare = ServerThread(tmp_path_factory.mktemp("bare"), {"storage": {"url": ""}})
    bare.start()
    try:
        with chromium(*DESKTOP, tmp_path_factory.mktemp("chrome-bare")) as driver:
            # A nick the server refuses (432) goes back to the form with its reason.
            driver.get(bare.url)
            wait_for(driver, lambda d: d.find_element("id", "login-nick")).send_keys("9lives")
            driver.find_element("id", "login-submit").click()
            wait_for(driver, lambda d: "cannot be used" in d.find_element(
                "id", "login-error").text, message="the refused nick was not reported")
            login(driver, bare.url, "hank")
            assert "soju.im/search" not in js(driver, "return [...window.ircish.offered.keys()]")
            box = driver.find_element("id", "search-input")
            assert not box.is_enabled()
            assert box.get_attribute("placeholder") == "Search unavailable"
            type_line(driver, "/search anything")
            wait_for(driver, lambda d: d.find_element("id", "results").is_displayed())
            assert driver.find_element("id", "results-title").text == \
                "Search is unavailable on this server"
    finally:
        bare.stop()


# -- reconnect ------------------------------------------------------------------------------


def test_the_client_reconnects_and_rejoins_after_a_server_restart(
    server: ServerThread, alice: Any
) -> None:
    join(alice, "#back")
    server.stop()
    # Between two attempts the status line says when the next one comes.
    wait_for(alice, lambda d: js(d, "return window.ircish.state") == "reconnecting"
             and "reconnecting in" in d.find_element("id", "status").text,
             message="the client never noticed the server left")
    server.start()
    # Attempts come after about 1, 2, 4, 8, 16 and 30 s: a slow restart may wait a while.
    wait_for(alice, lambda d: js(d, "return window.ircish.registered"), timeout=70,
             message="the client never reconnected")
    # The rejoin (sent on the welcome, before it #back shows as not joined).
    wait_for(alice, lambda d: js(d, "return window.ircish.buffer('#back').joined"),
             message="#back was not rejoined")
    frank = Tcp(server, "frank")
    try:
        frank.send("JOIN #back")
        wait_for(alice, lambda d: "frank" in member_names(d), message="frank not in the list")
        assert "@alice" in member_names(alice)
        frank.send("PRIVMSG #back :welcome back")
        wait_for_text(alice, "welcome back")
    finally:
        frank.close()
    assert csp_violations(alice) == []
