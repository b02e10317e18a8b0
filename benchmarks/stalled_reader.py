"""A chatting pair next to a client that has stopped reading a busy channel.

Starts an ircish server (from this tree, or another with ``--tree``) with its
default SendQ (flood limits lifted, ``blocking_plugin.bench_config``), and puts a
``stalled`` client and a ``flooder`` in ``#busy``: the flooder says
``--flood-rate`` lines a second of ``--size`` bytes there for ``--window``
seconds, and the stalled client never reads a byte after joining. Meanwhile two
clients send each other ``--rate`` lines a second (``blocking_plugin.chat``).
Reports the pair's latency and losses, and whether the stalled client was
dropped with ``SendQ exceeded`` (the QUIT its channel saw).

    .venv/bin/python -m benchmarks.stalled_reader
    .venv/bin/python -m benchmarks.stalled_reader --tree /tmp/before
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import trio

from benchmarks.blocking_plugin import ROOT, Client, bench_config, chat, free_port, serving
from benchmarks.runlock import exclusive_run


async def flood(port: int, rate: float, size: int, window: float) -> dict[str, object]:
    stalled = Client(await trio.open_tcp_stream("127.0.0.1", port), "stalled")
    flooder = Client(await trio.open_tcp_stream("127.0.0.1", port), "flooder")
    await stalled.register()
    await flooder.register()
    # The stalled client joins and reads nothing from here on.
    await stalled.stream.send_all(b"JOIN #busy\r\n")
    await flooder.stream.send_all(b"JOIN #busy\r\n")
    dropped: list[bytes] = []

    async def watch() -> None:
        while True:
            for line in await flooder.lines():
                if line.startswith(b":stalled!") and b" QUIT " in line:
                    dropped.append(line)
                elif line.startswith(b"PING"):
                    await flooder.stream.send_all(b"PONG" + line[4:] + b"\r\n")

    filler = "x" * max(0, size - 40)
    sent = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        start = trio.current_time()
        while trio.current_time() < start + window:
            await flooder.stream.send_all(f"PRIVMSG #busy :{sent} {filler}\r\n".encode())
            sent += 1
            await trio.sleep_until(start + sent / rate)
        with trio.move_on_after(2):
            while not dropped:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    return {"flood_lines": sent,
            "stalled_dropped": dropped[0].decode(errors="replace") if dropped else "no"}


async def both(port: int, args: argparse.Namespace) -> tuple[dict[str, object], dict[str, object]]:
    results: dict[str, dict[str, object]] = {}

    async def pair() -> None:
        results["pair"] = await chat(port, args.rate, args.window, args.drain)

    async def busy() -> None:
        results["flood"] = await flood(port, args.flood_rate, args.size, args.window)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pair)
        nursery.start_soon(busy)
    return results["pair"], results["flood"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(ROOT), help="source tree to run the server from")
    parser.add_argument("--rate", type=float, default=20.0, help="the pair's lines per second")
    parser.add_argument("--flood-rate", type=float, default=2000.0)
    parser.add_argument("--size", type=int, default=400, help="bytes a flood line")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=3.0)
    args = parser.parse_args()
    tree = Path(args.tree).resolve()
    with exclusive_run(600, f"stalled_reader pid {os.getpid()}") as taken:
        if not taken:
            raise SystemExit("another benchmark kept the machine for 10 minutes")
        with tempfile.TemporaryDirectory(prefix="ircish-stalled-") as tmp:
            work = Path(tmp)
            port = free_port()
            began = time.monotonic()
            with serving(tree, bench_config(work, port), port, work) as (_, log):
                pair, flooded = trio.run(both, port, args)
            errors = sum(1 for line in log if "ERROR" in line or "Traceback" in line)
    print(f"tree {tree} pair {args.rate}/s, flood {args.flood_rate}/s x {args.size} B,"
          f" window {args.window}s ({time.monotonic() - began:.0f} s in all)")
    print("pair: " + " ".join(f"{k}={v}" for k, v in pair.items()))
    print("busy channel: " + " ".join(f"{k}={v}" for k, v in flooded.items()))
    print(f"server log: {errors} ERROR/Traceback lines")


if __name__ == "__main__":
    main()
