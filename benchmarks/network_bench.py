"""Cross-node delivery between ircish nodes on one PostgreSQL (``benchmarks.network_bench``).

Starts ``--nodes`` real node processes (``tests.network.nodes``) on a new
database of the PostgreSQL that ``--url`` (or ``IRCISH_TEST_POSTGRES_URL``)
names, puts one sender and one receiver per node in one channel, and offers
``--rate`` messages/s network-wide (split over the senders, open loop) for
``--duration`` seconds. Every receiver should get every message. Reports the
delivery latency (receive time minus the send time carried in the text, one
clock: every client runs in this process) separately for the same node and
across nodes, p50/p99/max, and the messages lost after a drain.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import trio

from tests.ircclient import RawClient
from tests.network.nodes import Network


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _receive(client: RawClient, node: int, out: list[tuple[int, int, int, float]],
                   stop: trio.Event) -> None:
    while not stop.is_set():
        msg = await client.expect("PRIVMSG", timeout=3600)
        now = time.perf_counter()
        sender, seq, sent = msg.params[1].split()
        out.append((node, int(sender), int(seq), (now - float(sent)) * 1000))


async def _send(client: RawClient, index: int, rate: float, duration: float) -> int:
    interval = 1 / rate
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < duration:
        due = start + seq * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await trio.sleep(delay)
        await client.send(f"PRIVMSG #bench :{index} {seq} {time.perf_counter():.6f}")
        seq += 1
    return seq


async def run(url: str, nodes: int, rate: float, duration: float, drain: float) -> int:
    admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                            autocommit=True)
    name = f"ircish_bench_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    folder = Path(tempfile.mkdtemp(prefix="ircish-netbench-"))
    net = Network(f"{base}/{name}", folder, lease_s=10)
    try:
        members = [net.add(f"n{i + 1}") for i in range(nodes)]
        await net.start(members[0])
        if nodes > 1:
            await net.start(*members[1:])
        senders, receivers = [], []
        for i, node in enumerate(members):
            receivers.append(await node.client(f"recv{i}"))
            senders.append(await node.client(f"send{i}"))
        for client in receivers + senders:
            await client.send("JOIN #bench")
            await client.expect("366")
        await trio.sleep(1.0)  # every node's replica has every member
        got: list[tuple[int, int, int, float]] = []
        stop = trio.Event()
        sent = [0] * nodes
        async with trio.open_nursery() as nursery:
            for i, client in enumerate(receivers):
                nursery.start_soon(_receive, client, i, got, stop)

            async def sender(i: int) -> None:
                sent[i] = await _send(senders[i], i, rate / nodes, duration)

            async with trio.open_nursery() as sending:
                for i in range(nodes):
                    sending.start_soon(sender, i)
            await trio.sleep(drain)
            stop.set()
            nursery.cancel_scope.cancel()
        same = [ms for node, sender, _, ms in got if node == sender]
        cross = [ms for node, sender, _, ms in got if node != sender]
        expected = sum(sent) * nodes
        print(f"nodes={nodes} offered={rate:.0f} msg/s for {duration:.0f} s: sent {sum(sent)}, "
              f"deliveries {len(got)} of {expected} (lost {expected - len(got)})")
        for label, values in (("same node", same), ("cross node", cross)):
            if values:
                print(f"  {label:<10} n={len(values):>6} p50 {_pct(values, 50):7.2f} ms  "
                      f"p99 {_pct(values, 99):7.2f} ms  max {max(values):7.2f} ms")
        return 0 if expected == len(got) else 1
    finally:
        for node in net.nodes:
            for client in node.clients:
                with trio.move_on_after(1):
                    await client.aclose()
        net.stop_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("IRCISH_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL role that may create databases")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0, help="messages/s network-wide")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=3.0)
    args = parser.parse_args()
    if not args.url:
        print("network_bench: give --url or IRCISH_TEST_POSTGRES_URL (`.ci/postgres start`)",
              file=sys.stderr)
        return 2
    return trio.run(run, args.url, args.nodes, args.rate, args.duration, args.drain)


if __name__ == "__main__":
    sys.exit(main())
