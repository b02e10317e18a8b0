"""A chatting pair next to a plugin whose plain ``def on_message`` blocks.

Starts an ircish server (from this tree, or another one with ``--tree``) with one
plugin whose synchronous ``on_message`` calls ``time.sleep(--sleep)``, connects two
clients that send each other ``--rate`` lines per second in total for ``--window``
seconds, and reports the pair's delivery latency (p50/p99/max, receive time minus
the send time carried in the line), the lines lost (not received by the end of the
window plus ``--drain``), and whether the plugin got disabled.

    .venv/bin/python -m benchmarks.blocking_plugin --sleep 5
    .venv/bin/python -m benchmarks.blocking_plugin --sleep 4 --tree /tmp/before-plugins

One run at a time per machine (``runlock``); the ``machine`` line says how busy the
other processes were meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import trio

from benchmarks.procstat import busy_pct, cpu_busy_ticks, process_tree, tree_cpu_seconds
from benchmarks.runlock import exclusive_run
from benchmarks.servers import stop_process
from benchmarks.stats import percentiles_ms

ROOT = Path(__file__).resolve().parents[1]

SLEEPER = '''
import time
from ircish.hooks import hookimpl

@hookimpl
def on_message(text):
    time.sleep({sleep})
'''


def bench_config(work: Path, port: int, plugins: str = "") -> Path:
    """``work/config.toml`` for a benchmark's server: loopback ``port``, history in
    ``work``, the flood and per-IP limits lifted (the clients under test are not the
    ones to throttle), pings out of the way; ``plugins``: a ``[plugins]`` section."""
    config = work / "config.toml"
    config.write_text(f"""
[server]
name = "bench.ircish.test"
network = "bench"
listen = ["127.0.0.1:{port}"]

[limits]
clients_per_ip = 100000
max_clients = 100000
channels_per_client = 200
flood_burst = 1000000
flood_rate = 1000000.0
flood_excess = 1000000
ping_interval = 600.0
ping_timeout = 600.0

[storage]
url = "sqlite:///{work}/bench.db"
{plugins}
[logging]
level = "WARNING"
""")
    return config


def write_server_files(work: Path, port: int, sleep: float, hook_timeout: float) -> Path:
    plugins = work / "plugins"
    plugins.mkdir()
    (plugins / "sleeper.py").write_text(textwrap.dedent(SLEEPER.format(sleep=sleep)))
    return bench_config(work, port, f"""
[plugins]
dir = "{plugins}"
enabled = ["sleeper"]
hook_timeout = {hook_timeout}
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, stream: trio.SocketStream, nick: str) -> None:
        self.stream = stream
        self.nick = nick
        self.buf = b""
        self.latencies: list[int] = []  # ns
        self.received: set[int] = set()

    async def lines(self) -> list[bytes]:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError(self.nick)
        self.buf += data
        *done, self.buf = self.buf.split(b"\r\n")
        return done

    async def register(self) -> None:
        await self.stream.send_all(f"NICK {self.nick}\r\nUSER {self.nick} 0 * :x\r\n".encode())
        while True:
            for line in await self.lines():
                if line.split(b" ")[1:2] == [b"001"]:
                    return
                if line.startswith(b"PING"):
                    await self.stream.send_all(b"PONG" + line[4:] + b"\r\n")

    async def read_loop(self) -> None:
        while True:
            for line in await self.lines():
                if b" PRIVMSG " in line:
                    _, _, text = line.partition(b" :")
                    seq, sent = text.split(b" ")[:2]
                    self.latencies.append(int((time.monotonic() - float(sent)) * 1e9))
                    self.received.add(int(seq))
                elif line.startswith(b"PING"):
                    await self.stream.send_all(b"PONG" + line[4:] + b"\r\n")


async def chat(port: int, rate: float, window: float, drain: float) -> dict[str, object]:
    alice = Client(await trio.open_tcp_stream("127.0.0.1", port), "alice")
    bob = Client(await trio.open_tcp_stream("127.0.0.1", port), "bob")
    await alice.register()
    await bob.register()
    sent = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(alice.read_loop)
        nursery.start_soon(bob.read_loop)
        start = time.monotonic()
        tick = trio.current_time()  # trio's clock paces the sends
        while (now := time.monotonic()) < start + window:
            sender, receiver = (alice, bob) if sent % 2 == 0 else (bob, alice)
            line = f"PRIVMSG {receiver.nick} :{sent} {now:.6f} hello\r\n"
            # A sender never waits on a stuck server: what cannot go out now is late.
            with trio.move_on_after(max(0.0, start + window - now)):
                await sender.stream.send_all(line.encode())
            sent += 1
            await trio.sleep_until(tick + sent / rate)
        in_window = len(alice.received) + len(bob.received)
        await trio.sleep(drain)
        nursery.cancel_scope.cancel()
    received = len(alice.received) + len(bob.received)
    stats = percentiles_ms(alice.latencies + bob.latencies)
    return {"sent": sent, "received_in_window": in_window, "lost": sent - received,
            "p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"], "max_ms": stats["max_ms"]}


@contextlib.contextmanager
def serving(tree: Path, config: Path, port: int, work: Path
            ) -> Iterator[tuple[subprocess.Popen[bytes], IO[str]]]:
    """An ircish server from ``tree`` on ``config`` (listening on ``port``), once it
    accepts connections; terminated at the end. Its log is ``work/server.log``, read
    back from the start."""
    log = (work / "server.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ircish.cli import server_main; "
         "sys.exit(server_main())", "--config", str(config)],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start:\n" + log.read()) from None
                time.sleep(0.1)
        yield server, log
    finally:
        # A loop stuck in a plugin's sleeps may take minutes to shut down.
        stop_process(server, 30)
        log.seek(0)


def run(args: argparse.Namespace) -> None:
    tree = Path(args.tree).resolve()
    with tempfile.TemporaryDirectory(prefix="ircish-blocking-") as tmp:
        work = Path(tmp)
        port = free_port()
        config = write_server_files(work, port, args.sleep, args.hook_timeout)
        with serving(tree, config, port, work) as (server, log):
            pids = process_tree(server.pid)
            ticks = cpu_busy_ticks()
            cpu_before = tree_cpu_seconds(pids) or 0.0
            result = trio.run(chat, port, args.rate, args.window, args.drain)
            cpu = (tree_cpu_seconds(pids) or 0.0) - cpu_before
            cores = busy_pct(ticks, cpu_busy_ticks())
        text = log.read()
    disabled = "plugin sleeper disabled" in text
    failures = text.count("plugin sleeper: on_message")
    print(f"tree {tree} sleep {args.sleep}s hook_timeout {args.hook_timeout}s "
          f"rate {args.rate}/s window {args.window}s drain {args.drain}s")
    print("pair: " + " ".join(f"{k}={v}" for k, v in result.items()))
    print(f"plugin: failures logged={failures} disabled={disabled}; "
          f"server cpu {cpu / (args.window + args.drain) * 100:.0f}% of a core")
    print(f"machine: busy % per core over the run (everything, us included) {cores}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(ROOT), help="source tree to run the server from")
    parser.add_argument("--sleep", type=float, default=5.0)
    parser.add_argument("--hook-timeout", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=20.0, help="lines per second, both ways")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=3.0)
    args = parser.parse_args()
    with exclusive_run(600, f"blocking_plugin pid {os.getpid()}") as taken:
        if not taken:
            raise SystemExit("another benchmark kept the machine for 10 minutes")
        run(args)


if __name__ == "__main__":
    main()
