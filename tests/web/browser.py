"""Helpers for the web client's browser tests: a real server in a thread, Chromium
driven by selenium, and small waits.

The server runs its own Trio loop in a thread so that selenium's blocking calls
never stall it; a test talks to it (and to raw TCP clients) through
``ServerThread.run``, which runs a coroutine function on that loop.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from ircish.testing import RunningServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 15.0

T = TypeVar("T")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is absent (Debian: apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[test])"
    return None


def skip_without_browser() -> None:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)


class ServerThread:
    """An ircish server with a WebSocket listener, on its own Trio loop in a thread.

    ``start()`` binds port 0 the first time; a restart binds the same ports again.
    """

    def __init__(self, base_dir: Path, config: dict[str, Any]) -> None:
        self.base_dir = base_dir
        self.config = config
        self.tcp_port = 0
        self.ws_port = 0
        self.running: RunningServer | None = None
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ws_port}/"

    def start(self) -> None:
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name="ircish-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the server did not start within 60 s")
        if self._error is not None:
            raise RuntimeError("the server failed to start") from self._error

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported to the test's thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        config = {section: dict(values) for section, values in self.config.items()}
        config.setdefault("server", {})["listen"] = [f"127.0.0.1:{self.tcp_port}"]
        config.setdefault("websocket", {})["listen"] = [f"127.0.0.1:{self.ws_port}"]
        async with start_server(self.base_dir, config) as srv:
            self.running = srv
            self.tcp_port = srv.port
            self.ws_port = websocket_port(srv)
            self._ready.set()
            await self._stop.wait()
        self.running = None

    def run(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``afn(*args)`` on the server's loop and return its result."""
        assert self._token is not None
        return trio.from_thread.run(afn, *args, trio_token=self._token)

    def stop(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            return
        assert self._token is not None and self._stop is not None
        trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(60)
        if self._thread.is_alive():
            raise RuntimeError("the server did not stop within 60 s")


def websocket_port(srv: RunningServer) -> int:
    """The port the WebSocket listener bound."""
    return int(srv.owner("websocket").addresses[0].port)


@contextmanager
def chromium(width: int, height: int, tmp: Path) -> Iterator[Any]:
    """A headless Chromium of Debian's, its console log kept for the tests to read."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={width},{height}",
        f"--user-data-dir={tmp}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    tmp.mkdir(parents=True, exist_ok=True)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        set_viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)


def set_viewport(driver: Any, width: int, height: int) -> None:
    """The page's viewport exactly this size (--window-size counts the window's frame)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def wait_for(driver: Any, condition: Callable[[Any], T], timeout: float = WAIT,
             message: str = "") -> T:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message)


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def login(driver: Any, url: str, nick: str, account: str = "", password: str = "") -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    field = wait_for(driver, lambda d: d.find_element(By.ID, "login-nick"))
    field.clear()
    field.send_keys(nick)
    if account:
        js(driver, "document.getElementById('login-account-box').open = true")
        driver.find_element(By.ID, "login-account").send_keys(account)
        driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, lambda d: js(d, "return window.ircish.registered"),
             message=f"{nick} did not register")


def type_line(driver: Any, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def message_texts(driver: Any) -> list[str]:
    """The texts of the lines in the message view, as the user sees them."""
    return js(driver, "return [...document.querySelectorAll('#messages .line .text')]"
                      ".map(e => e.textContent)")


def wait_for_text(driver: Any, text: str, timeout: float = WAIT) -> None:
    wait_for(driver, lambda d: text in message_texts(d), timeout,
             message=f"{text!r} never showed in the message view")


def active_buffer(driver: Any) -> str:
    """The conversation shown, named as in the sidebar ("server" for the server's)."""
    return js(driver, "const b = window.ircish.activeBuffer();"
                      "return b.kind === 'server' ? 'server' : b.name")


def browser_log(driver: Any) -> list[dict[str, Any]]:
    return list(driver.get_log("browser"))
