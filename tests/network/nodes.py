"""Real ircish node processes sharing one new PostgreSQL database, for the network tests.

Each node is ``ircish-server`` in a process group of its own (its history and
network workers are in it too, so a SIGKILL of the group is a machine dying),
listening on a free port of 127.0.0.1. The database is new for each test
(``tests.store.postgres.fresh_database``, already migrated); without ``IRCISH_TEST_POSTGRES_URL``
the tests skip and say why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from tests.ircclient import RawClient
from tests.store import postgres

SERVER = [sys.executable, "-c", "import sys; from ircish.cli import server_main; "
          "sys.exit(server_main())"]
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    node_id: str
    port: int
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    clients: list[RawClient] = field(default_factory=list)

    async def client(self, nick: str, caps: list[str] | None = None) -> RawClient:
        client = await RawClient.connect(self.port)
        self.clients.append(client)
        welcome = await client.register(nick, caps)
        assert welcome[0].command == "001", welcome
        return client

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace")

    async def logged(self, text: str, timeout: float = 30.0) -> None:
        """Until ``text`` is in the node's log (its workers log there too, in their own
        time: a line about a fault may come after what the fault delayed)."""

        async def there() -> bool:
            return text in self.log_text()

        await eventually(there, timeout)

    def signal_group(self, signum: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signum)


class Network:
    def __init__(self, url: str, folder: Path, lease_s: int) -> None:
        self.url = url
        self.folder = folder
        self.lease_s = lease_s
        self.nodes: list[Node] = []

    def add(self, node_id: str, network_extra: str = "") -> Node:
        """``network_extra``: more lines for the node's ``[network]`` section."""
        port = _free_port()
        config = self.folder / f"{node_id}.toml"
        config.write_text(
            f'[server]\nname = "{node_id}.test"\nlisten = ["127.0.0.1:{port}"]\n'
            '[channels]\nauto_join = []\n'
            # Test clients send bursts; fakelag would only slow the tests down.
            '[limits]\nflood_burst = 1000\nflood_rate = 1000.0\nflood_excess = 100000\n'
            # The race test has 20 clients and more per node, all from 127.0.0.1.
            'clients_per_ip = 1000\n'
            f'[storage]\nurl = "{self.url}"\n'
            f'[network]\nnode_id = "{node_id}"\nlease_seconds = {self.lease_s}\n'
            + network_extra)
        node = Node(node_id, port, config, self.folder / f"{node_id}.log")
        self.nodes.append(node)
        return node

    async def start(self, *nodes: Node) -> None:
        for node in nodes:
            with node.log.open("ab") as out:
                node.proc = subprocess.Popen(
                    [*SERVER, "--config", str(node.config)], stdout=out, stderr=out,
                    stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        for node in nodes:
            marker = f"listening on 127.0.0.1:{node.port}"
            while marker not in node.log_text():
                assert node.proc is not None
                if node.proc.poll() is not None:
                    raise AssertionError(f"{node.node_id} exited:\n{node.log_text()[-3000:]}")
                assert time.monotonic() < deadline, node.log_text()[-3000:]
                await trio.sleep(0.1)

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.proc is None:
                continue
            try:
                node.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(node.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            node.proc.wait()


@asynccontextmanager
async def network(folder: Path, lease_s: int = 10) -> AsyncIterator[Network]:
    # Already migrated: the nodes' start checks the schema (migrating is not what these
    # tests are about, and the first node would spend most of its start on it).
    with postgres.fresh_database(migrated=True) as url:
        net = Network(url, folder, lease_s)
        try:
            yield net
        finally:
            for node in net.nodes:
                for client in node.clients:
                    with trio.move_on_after(1):
                        await client.aclose()
            net.stop_all()


async def eventually(check: object, timeout: float = 10.0) -> None:
    """Poll an async predicate until true (replication between nodes is asynchronous)."""
    deadline = trio.current_time() + timeout
    while not await check():  # type: ignore[operator]
        assert trio.current_time() < deadline, f"{check} never became true"
        await trio.sleep(0.05)


async def members_of(client: RawClient, channel: str) -> set[str]:
    """The NAMES of ``channel`` as ``client``'s node sees it, with their prefixes."""
    await client.send(f"NAMES {channel}")
    lines = await client.collect_until("366")
    return {n for m in lines if m.command == "353" for n in m.params[-1].split()}


async def two_nodes_in(
    net: Network, channel: str = "#x", caps: list[str] | None = None,
    nodes: tuple[Node, Node] | None = None,
) -> tuple[Node, Node, RawClient, RawClient]:
    """n1 and n2 (``nodes``, or two new ones) started, alice on n1 and bob on n2, both
    in ``channel``: alice made it (its op), bob joined once n2 knew that.

    It returns once each node knows the other's member. Without the wait for n2 to
    see alice there, bob's JOIN raced the replication of hers: when it won, n2 made
    the channel anew and bob its op, so what a test saw of the modes depended on
    the machine's load."""
    n1, n2 = nodes if nodes is not None else (net.add("n1"), net.add("n2"))
    await net.start(n1)
    await net.start(n2)
    alice = await n1.client("alice", caps)
    bob = await n2.client("bob", caps)
    await alice.send(f"JOIN {channel}")
    await alice.expect("366")

    async def alice_seen_on_n2() -> bool:
        return "@alice" in await members_of(bob, channel)

    await eventually(alice_seen_on_n2, timeout=30)
    await bob.send(f"JOIN {channel}")
    await bob.expect("366")
    await alice.expect(lambda m: m.command == "JOIN" and m.source.startswith("bob!"),
                       timeout=30)
    return n1, n2, alice, bob


def child_of(pid: int, module: bytes) -> int:
    """The pid of the child of ``pid`` whose command line names ``module`` (a worker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and module in cmdline:
            return int(entry.name)
    raise AssertionError(f"no {module!r} under pid {pid}")
