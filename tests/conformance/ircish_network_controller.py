"""irctest against node 1 of a two-node network: ``--controller ircish_network_controller``.

``./dev conformance --network`` selects it. Each test gets a new PostgreSQL
database (a copy of one migrated template, so no test pays for the migrations)
and two ``ircish-server`` nodes on it: n1 on the port irctest picked, n2 on a
free one (no server password, no TLS), started at once and both answering
before the test begins. irctest's clients all connect to n1 (irctest reads its replies as one
server's, in order and at once; a client on n2 would see other clients' lines
a replication later). n2 is a full member of the network meanwhile: it joins,
renews its lease and applies every event n1 commits, so what n1 does for the
network (nick claims in the database, events in its sequence) is exercised by
every test.

PostgreSQL: ``IRCISH_TEST_POSTGRES_URL`` (``run.py --network`` starts a private
cluster with ``.ci/postgres`` when it is not set).
"""

from __future__ import annotations

import atexit
import functools
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

from ircish_config import SERVER_NAME, ServerSettings, network_config
from ircish_controller import IrcishController, _server_command, answers_ping

ENV = "IRCISH_TEST_POSTGRES_URL"
LEASE_S = 10
START_TIMEOUT_S = 60.0


def _libpq(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _admin(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(_libpq(url), autocommit=True)


@functools.cache
def _template() -> str:
    """One database migrated to the head, copied for every test (CREATE ... TEMPLATE)."""
    url = os.environ.get(ENV, "")
    if not url:
        raise RuntimeError(f"the network conformance run needs PostgreSQL: set {ENV}")
    name = f"irctest_template_{os.getpid()}_{secrets.token_hex(3)}"
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = _with_database(url, name)
    subprocess.run(
        [*_server_command(), "--config", str(_bare_config(target)), "db", "upgrade"],
        check=True, capture_output=True, timeout=120)
    atexit.register(_drop, url, name)
    return name


def _drop(url: str, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bare_config(url: str) -> Path:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"irctest-ircish-template-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    path = folder / "config.toml"
    path.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class IrcishNetworkController(IrcishController):
    software_name = "ircish (two-node network)"

    def run(self, hostname: str, port: int, *, password: str | None, ssl: bool,
            run_services: bool, faketime: str | None, websocket_hostname: str | None = None,
            websocket_port: int | None = None) -> None:
        admin = os.environ.get(ENV, "")
        template = _template()
        self.database = f"irctest_{secrets.token_hex(6)}"
        with _admin(admin) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')
        self.url = _with_database(admin, self.database)
        super().run(hostname, port, password=password, ssl=ssl, run_services=run_services,
                    faketime=faketime, websocket_hostname=websocket_hostname,
                    websocket_port=websocket_port)

    def launch(self, settings: ServerSettings) -> None:
        assert self.directory is not None
        config = self.directory / "config.toml"
        config.write_text(network_config(settings, self.url, "n1", SERVER_NAME, LEASE_S), "utf-8")
        self.config_path = config
        self.proc = self.execute([*_server_command(), "--config", str(config), "run"])
        # Both start at once (the template is at the head: nothing to migrate); irctest
        # waits for n1's port, and the test begins once n2 answers too.
        folder = self.directory / "n2"
        folder.mkdir(exist_ok=True)
        n2_port = _free_port()
        other = ServerSettings(directory=folder, hostname="127.0.0.1", port=n2_port,
                               accounts=settings.accounts,
                               register_before_connect=settings.register_before_connect,
                               email_required=settings.email_required)
        n2_config = folder / "config.toml"
        n2_config.write_text(network_config(other, self.url, "n2", "n2.My.Little.Server",
                                            LEASE_S),
                             "utf-8")
        self.n2_log = (folder / "server.log").open("ab")
        self.n2_proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [*_server_command(), "--config", str(n2_config), "run"],
            stdout=self.n2_log, stderr=self.n2_log, stdin=subprocess.DEVNULL)
        try:
            _wait_for_ping("127.0.0.1", n2_port, self.n2_proc, START_TIMEOUT_S)
        except RuntimeError as exc:
            self.n2_log.flush()
            log = (folder / "server.log").read_text("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{exc}; its log ends:\n{log}") from exc

    def kill(self) -> None:
        proc = getattr(self, "n2_proc", None)
        if proc is not None:
            proc.terminate()  # both stop at once: n1's stop is in super().kill()
        super().kill()
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.n2_proc = None
            self.n2_log.close()
        database = getattr(self, "database", None)
        if database:
            self.database = None
            _drop(os.environ.get(ENV, ""), database)


def _wait_for_ping(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"node n2 exited with {proc.returncode} while starting")
        try:
            if answers_ping(host, port, min(deadline, time.monotonic() + 2)):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("node n2 did not answer PING in time")
        time.sleep(0.05)


def get_irctest_controller_class() -> type[IrcishNetworkController]:
    return IrcishNetworkController
