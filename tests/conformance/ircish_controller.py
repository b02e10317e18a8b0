"""irctest controller for ircish: ``pytest --controller ircish_controller``.

Run from an irctest checkout with this folder on ``PYTHONPATH`` (``./dev
conformance`` does all that). Each test gets a fresh ``ircish-server`` in a
temporary folder, on the loopback port irctest picked, with a generated config.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ircish_config import SERVER_NAME, ServerSettings, write_config
from irctest import patma
from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors


def _server_command() -> list[str]:
    # The console script installed beside this interpreter: the same venv as ircish.
    script = Path(sys.executable).parent / "ircish-server"
    if script.exists():
        return [str(script)]
    found = shutil.which("ircish-server")
    if found is None:
        raise RuntimeError("ircish-server is not installed in this environment")
    return [found]


# Servers still running. irctest kills a test's server in its teardown, which
# pytest skips when setUp raises after the start (BotModeTestCase skips there
# for want of the BOT token): such a server is killed when the next one starts,
# as tests run one at a time per process, or when the run ends.
_running: set[IrcishController] = set()


def _kill_stale() -> None:
    for controller in list(_running):
        controller.kill()


atexit.register(_kill_stale)


class IrcishController(BaseServerController, DirectoryBasedController):
    software_name = "ircish"
    server_name = SERVER_NAME
    _port_wait_interval = 0.02
    supports_sts = False
    # EXTERNAL is offered on TLS only and needs a client certificate, which
    # irctest's SASL tests do not present (tests/accounts/test_external.py does).
    supported_sasl_mechanisms: set[str] = {"PLAIN", "SCRAM-SHA-256"}
    config_path: Path | None = None
    tls = False
    capabilities = frozenset(
        {
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.EXTENDED_MONITOR,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_REDACTION,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.MULTILINE,
            Capabilities.READ_MARKER,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
        }
    )
    # Declared behaviours turn irctest's "not supported" skips into failures, so a
    # regression in one of them cannot hide as a skip.
    optional_behaviors = frozenset(
        {
            OptionalBehaviors.BAN_EXCEPTION_MODE,
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.ELIST_M,
            OptionalBehaviors.ELIST_N,
            OptionalBehaviors.ELIST_U,
            OptionalBehaviors.INVITE_EXCEPTION_MODE,
            OptionalBehaviors.INVITE_OVERRIDES_LIMIT,
            OptionalBehaviors.METADATA_BEFORE_CONNECT,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_KICK,
            OptionalBehaviors.MULTI_PRIVMSG,
        }
    )
    # What ISUPPORT must say (checked by isupport.py's testValues).
    isupport = {
        "CASEMAPPING": "rfc1459",
        "CHANTYPES": "#",
        "ELIST": "MNU",
        "EXCEPTS": "e",
        "INVEX": "I",
        "MONITOR": "100",
        "PREFIX": "(ov)@+",
        "STATUSMSG": "@+",
        "TARGMAX": patma.ANYSTR,
        "UTF8ONLY": None,
        "WHOX": None,
    }

    @property  # type: ignore[override]
    def sync_sleep_time(self) -> float:
        """irctest's pause before a client's synchronising PING: here a wait until the
        server has acted on all that the clients sent.

        irctest takes a PONG as proof that the server has handled every line sent before
        the PING, on any connection. A Trio server handles connections that became
        readable at the same moment in either order (Trio shuffles each batch on
        purpose), so on a busy machine a PING could be answered before another client's
        PRIVMSG sent just before it ("NoMessageException"). So the PING waits until
        the server is back waiting for events.
        """
        if self.proc is not None:
            wait_until_idle(self.proc.pid, time.monotonic() + 2.0)
        return 0.0

    @contextlib.contextmanager
    def _used_ports(self) -> Iterator[set[tuple[str, int]]]:
        # irctest's registry of ports in use is one file in /tmp for every run on
        # the machine; runs side by side (several people testing at once) have
        # left it empty mid-write, and irctest's own reading of it then fails the
        # test's teardown (JSONDecodeError). Read it as irctest does, but take an
        # unreadable file as empty and a port already gone from it as released.
        with self._port_lock:
            try:
                used = _Ports((h, p) for h, p in json.loads(self._used_ports_path.read_text()))
            except (OSError, ValueError, TypeError):
                used = _Ports()
            yield used
            self._used_ports_path.write_text(json.dumps(list(used)))

    def create_config(self) -> None:
        if not self.directory:
            self.directory = Path(tempfile.mkdtemp(prefix="irctest-ircish-"))

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: str | None,
        ssl: bool,
        run_services: bool,
        faketime: str | None,
        websocket_hostname: str | None = None,
        websocket_port: int | None = None,
    ) -> None:
        websocket = None
        if websocket_hostname is not None and websocket_port is not None:
            # Loopback, as for the IRC port (irctest may hand out a wildcard).
            websocket = f"127.0.0.1:{websocket_port}"
        assert self.proc is None
        self.hostname = hostname
        self.port = port
        self.tls = ssl
        self.create_config()
        assert self.directory is not None
        cert = key = None
        if ssl:
            self.gen_ssl()
            cert, key = self.pem_path, self.key_path
        settings = ServerSettings(
            directory=self.directory,
            # irctest hands out 0.0.0.0 (a wildcard bind); serve loopback only.
            hostname="127.0.0.1",
            port=port,
            password=password,
            tls_cert=cert,
            tls_key=key,
            # History costs a worker process per server: only the tests that ask.
            history=self.test_config.chathistory,
            accounts=run_services,
            register_before_connect=self.test_config.account_registration_before_connect,
            email_required=self.test_config.account_registration_requires_email,
            websocket=websocket,
        )
        _kill_stale()
        # Before the start: a start that fails half-way is killed all the same.
        _running.add(self)
        self.launch(settings)

    def launch(self, settings: ServerSettings) -> None:
        """Write the config and start the server (the network controller starts two)."""
        config = write_config(settings)
        self.config_path = config
        self.proc = self.execute([*_server_command(), "--config", str(config), "run"])

    def wait_for_services(self) -> None:
        # NickServ and SASL are part of the server: ready once its port is open.
        self.wait_for_port()

    def registerUser(self, case: object, username: str, password: str | None = None) -> None:
        """The account CLI against the running server's database (irctest's services)."""
        if self.config_path is None:
            raise NotImplementedByController("account registration without a server")
        # The server migrates its database before it accepts: a CLI that migrated
        # at the same time would meet a locked database, and so would the server.
        self._wait_until_answering()
        result = subprocess.run(
            [*_server_command(), "--config", str(self.config_path), "account", "create",
             username],
            input=(password or secrets.token_urlsafe(12)) + "\n", capture_output=True,
            text=True, timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"account create {username} failed: {result.stderr.strip()}")

    def _wait_until_answering(self, timeout: float = 60.0) -> None:
        """Until the server answers a PING. Its port is bound before its services
        start (migrations among them), so a connect alone can succeed mid-migration:
        the line waits in the backlog until the accept loop runs."""
        self.wait_for_port()
        if self.tls:
            return  # a TLS-only server: the port is the best sign there is
        if not answers_ping(self.hostname, self.port, time.monotonic() + timeout):
            raise RuntimeError("the server closed the connection before answering PING")

    def kill(self) -> None:
        _running.discard(self)
        super().kill()
        # DirectoryBasedController.kill removes the folder but keeps its name.
        self.directory = None


def answers_ping(host: str, port: int, deadline: float) -> bool:
    """Whether the server answers a PING before ``deadline`` (monotonic); False when it
    closes the connection first. A timeout or a refused connect raises OSError."""
    timeout = max(deadline - time.monotonic(), 0.01)
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(b"PING ready\r\n")
        seen = b""
        while b"PONG" not in seen:
            conn.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = conn.recv(4096)
            if not chunk:
                return False
            seen += chunk
    return True


def _waiting_for_events(pid: int) -> bool:
    """Whether the process's main thread (the event loop's) is asleep in epoll_wait.

    On loopback a client's send wakes the server before the send returns (the
    receive runs in the sender's system call), so a server still asleep there
    afterwards has nothing unread, and one asleep there again has acted on it.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # "pid (comm) S ...": the state follows the last ')'
            if stat.read().rpartition(")")[2].split()[0] != "S":
                return False
        with open(f"/proc/{pid}/wchan") as wchan:
            where = wchan.read()
    except OSError:
        return True  # gone, or no /proc to ask: nothing to wait for
    # Asleep elsewhere (a lock, a file): not yet back in the loop. A kernel that
    # hides wchan says "0"; the state alone must do then.
    return "epoll" in where or where in ("", "0")


def wait_until_idle(pid: int, deadline: float) -> bool:
    """Wait until the server waits for events again, or until ``deadline``
    (monotonic; then the test goes on as irctest would have)."""
    while time.monotonic() < deadline:
        if _waiting_for_events(pid):
            return True
        time.sleep(0.0002)
    return False


class _Ports(set[tuple[str, int]]):
    def remove(self, port: tuple[str, int]) -> None:
        self.discard(port)


def get_irctest_controller_class() -> type[IrcishController]:
    return IrcishController
