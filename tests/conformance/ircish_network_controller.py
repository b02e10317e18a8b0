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

A node's start (four Python processes, its schema check among them) is most of
a test's time, so the pair for the next test is started while this one runs
(``_Pair``, one spare): irctest asks for a port before it says how the server
is set up, so the spare's n1 port is the one handed out, and the spare is used
only when the test's settings are the ones it was started with (the previous
test's, which is what the next one nearly always asks); otherwise it is stopped
and a pair is started for the test as before. Either way every test has its own
database and two nodes no client has touched. ``IRCISH_CONFORMANCE_SPARE=0``
turns the spare off.

PostgreSQL: ``IRCISH_TEST_POSTGRES_URL`` (``run.py --network`` starts a private
cluster with ``.ci/postgres`` when it is not set).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from ircish_config import SERVER_NAME, ServerSettings, network_config
from ircish_controller import IrcishController, _server_command, answers_ping

ENV = "IRCISH_TEST_POSTGRES_URL"
LEASE_S = 10
START_TIMEOUT_S = 60.0
# SIGTERM lets a node stop as it would in production; past this it is killed.
STOP_TIMEOUT_S = 5.0


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


def _settings_key(settings: ServerSettings) -> ServerSettings:
    """What a pair's nodes are set up with, apart from where (folder and port)."""
    return dataclasses.replace(settings, directory=Path(), port=0)


@dataclasses.dataclass
class _Pair:
    """n1 and n2 on a database of their own, started and not yet waited for."""

    key: ServerSettings
    directory: Path
    port: int
    database: str
    n1_config: Path
    n1: subprocess.Popen[bytes]
    n2: subprocess.Popen[bytes]
    n2_port: int
    logs: list[IO[bytes]]

    @classmethod
    def start(cls, settings: ServerSettings) -> _Pair:
        admin = os.environ.get(ENV, "")
        template = _template()
        database = f"irctest_{secrets.token_hex(6)}"
        with _admin(admin) as conn:
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        url = _with_database(admin, database)
        folder = settings.directory / "n2"
        folder.mkdir(exist_ok=True)
        n2_port = _free_port()
        other = ServerSettings(directory=folder, hostname="127.0.0.1", port=n2_port,
                               accounts=settings.accounts,
                               register_before_connect=settings.register_before_connect,
                               email_required=settings.email_required)
        n1_config = settings.directory / "config.toml"
        n1_config.write_text(network_config(settings, url, "n1", SERVER_NAME, LEASE_S), "utf-8")
        n2_config = folder / "config.toml"
        n2_config.write_text(network_config(other, url, "n2", "n2.My.Little.Server", LEASE_S),
                             "utf-8")
        # Both start at once (the template is at the head: nothing to migrate), each in a
        # process group of its own so that its workers stop with it.
        logs: list[IO[bytes]] = []
        procs = []
        for config, log in ((n1_config, settings.directory / "server.log"),
                            (n2_config, folder / "server.log")):
            logs.append(log.open("ab"))
            procs.append(subprocess.Popen(
                [*_server_command(), "--config", str(config), "run"],
                stdout=logs[-1], stderr=logs[-1], stdin=subprocess.DEVNULL,
                start_new_session=True))
        return cls(_settings_key(settings), settings.directory, settings.port, database,
                   n1_config, procs[0], procs[1], n2_port, logs)

    def wait_ready(self) -> None:
        """Until both nodes answer a PING (n1 first: irctest's port wait is then at once)."""
        for name, proc, port in (("n1", self.n1, self.port), ("n2", self.n2, self.n2_port)):
            try:
                _wait_for_ping(name, "127.0.0.1", port, proc, START_TIMEOUT_S)
            except RuntimeError as exc:
                for log in self.logs:
                    log.flush()
                folder = self.directory if name == "n1" else self.directory / "n2"
                log = (folder / "server.log").read_text("utf-8", "replace")[-2000:]
                raise RuntimeError(f"{exc}; its log ends:\n{log}") from exc

    def signal_stop(self, *, n1: bool = True) -> None:
        """SIGTERM to n2 (and n1 unless irctest's own kill does it): both stop at once."""
        for proc in [self.n2, self.n1] if n1 else [self.n2]:
            _signal_group(proc, signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Until both nodes exited; a node that does not stop in time is killed."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in (self.n2, self.n1):
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()

    def release(self) -> None:
        """After both nodes stopped: the logs closed, the database dropped."""
        for log in self.logs:
            log.close()
        _drop(os.environ.get(ENV, ""), self.database)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class _Spare:
    """The one pair started ahead for the next test, and its n1 port in irctest's registry."""

    pair: _Pair | None = None
    handed_out = False

    @classmethod
    def make(cls, key: ServerSettings, controller: IrcishNetworkController) -> None:
        if os.environ.get("IRCISH_CONFORMANCE_SPARE", "1") == "0":
            return
        # A TLS pair's certificate lives in its test's folder, a websocket port is handed
        # out per test: the next test is assumed to want neither.
        key = dataclasses.replace(key, tls_cert=None, tls_key=None, websocket=None)
        folder = Path(tempfile.mkdtemp(prefix="irctest-ircish-"))
        port = _free_port()
        with controller._used_ports() as used:
            used.add(("0.0.0.0", port))
        try:
            cls.pair = _Pair.start(dataclasses.replace(key, directory=folder, port=port))
        except BaseException:
            cls.unregister(controller, port)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        cls.handed_out = False

    @classmethod
    def unregister(cls, controller: IrcishController, port: int) -> None:
        with controller._used_ports() as used:
            used.discard(("0.0.0.0", port))

    @classmethod
    def discard(cls, controller: IrcishController) -> None:
        pair, cls.pair = cls.pair, None
        if pair is None:
            return
        pair.signal_stop()
        pair.wait_stopped()
        pair.release()
        if not cls.handed_out:
            cls.unregister(controller, pair.port)
        shutil.rmtree(pair.directory, ignore_errors=True)

    @classmethod
    def take(cls, key: ServerSettings, port: int,
             controller: IrcishController) -> _Pair | None:
        pair = cls.pair
        if pair is not None and pair.port == port and pair.key == key:
            cls.pair = None
            return pair
        cls.discard(controller)  # frees the port when it was handed out for this test
        return None


class IrcishNetworkController(IrcishController):
    software_name = "ircish (two-node network)"
    pair: _Pair | None = None

    def get_hostname_and_port(self) -> tuple[str, int]:
        # The spare's n1 port is already in irctest's registry (_Spare.make).
        if _Spare.pair is not None and not _Spare.handed_out:
            _Spare.handed_out = True
            self._own_ports.add(("0.0.0.0", _Spare.pair.port))
            return "0.0.0.0", _Spare.pair.port
        return super().get_hostname_and_port()

    def launch(self, settings: ServerSettings) -> None:
        assert self.directory is not None
        key = _settings_key(settings)
        pair = _Spare.take(key, settings.port, self)
        if pair is None:
            pair = _Pair.start(settings)
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = pair.directory
        self.pair = pair
        self.proc = pair.n1
        self.config_path = pair.n1_config
        pair.wait_ready()
        _Spare.make(key, self)

    def kill(self) -> None:
        pair, self.pair = self.pair, None
        if pair is not None:
            pair.signal_stop(n1=False)  # n1's SIGTERM and wait are irctest's (super().kill())
        super().kill()
        if pair is not None:
            pair.wait_stopped()
            pair.release()


def _wait_for_ping(name: str, host: str, port: int, proc: subprocess.Popen[bytes],
                   timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"node {name} exited with {proc.returncode} while starting")
        try:
            if answers_ping(host, port, min(deadline, time.monotonic() + 2)):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"node {name} did not answer PING in time")
        time.sleep(0.02)


def _discard_spare() -> None:
    if _Spare.pair is not None:
        _Spare.discard(IrcishNetworkController.__new__(IrcishNetworkController))


atexit.register(_discard_spare)


def get_irctest_controller_class() -> type[IrcishNetworkController]:
    return IrcishNetworkController
