"""The shipped welcome bot under registration churn, over a store with history.

Starts ircish (this tree, or ``--tree DIR``) with history and ``welcome_bot``, fills
``--channels`` channels with ``--lines`` lines each, then registers ``--rate`` new nicks
per second for ``--window`` seconds (each connects, registers, waits up to ``--wait``
seconds for the bot's notice, quits) and reports how many were greeted, how fast, and
whether the plugin was disabled.

    .venv/bin/python -m benchmarks.welcome_churn --rate 300 --window 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import trio

from benchmarks.blocking_plugin import ROOT, Client, bench_config, free_port, serving
from benchmarks.runlock import exclusive_run
from benchmarks.stats import percentiles_ms


def write_config(work: Path, port: int, plugins: Path) -> Path:
    return bench_config(work, port, f"""
[plugins]
dir = "{plugins}"
enabled = ["welcome_bot"]

[plugins.welcome_bot]
channels = ["#c0"]
join_greeting = ""
join_welcome_back = ""
""")


async def fill(port: int, channels: int, lines: int) -> None:
    writer = Client(await trio.open_tcp_stream("127.0.0.1", port), "filler")
    await writer.register()
    names = ",".join(f"#c{i}" for i in range(channels))
    await writer.stream.send_all(f"JOIN {names}\r\n".encode())
    for n in range(lines):
        batch = "".join(f"PRIVMSG #c{i} :line {n}\r\n" for i in range(channels))
        await writer.stream.send_all(batch.encode())
    await writer.stream.send_all(b"PING filled\r\n")
    while not any(b"PONG" in line and b"filled" in line for line in await writer.lines()):
        pass
    # Leave the filler and its channels in place: "anywhere" means every channel.


async def newcomer(port: int, nick: str, wait: float, out: list[int]) -> None:
    began = time.monotonic()
    try:
        client = Client(await trio.open_tcp_stream("127.0.0.1", port), nick)
        await client.register()
        with trio.move_on_after(wait):
            while True:
                if any(b"NOTICE " + nick.encode() in line for line in await client.lines()):
                    out.append(int((time.monotonic() - began) * 1e9))
                    break
        await client.stream.send_all(b"QUIT :bye\r\n")
        await client.stream.aclose()
    except (OSError, EOFError, trio.BrokenResourceError):
        pass


async def churn(port: int, args: argparse.Namespace) -> dict[str, object]:
    await fill(port, args.channels, args.lines)
    greeted: list[int] = []
    started = 0
    async with trio.open_nursery() as nursery:
        tick = trio.current_time()
        while trio.current_time() < tick + args.window:
            nursery.start_soon(newcomer, port, f"n{started}", args.wait, greeted)
            started += 1
            await trio.sleep_until(tick + started / args.rate)
    stats = percentiles_ms(greeted)
    return {"registered": started, "greeted": len(greeted), "p50_ms": stats["p50_ms"],
            "p99_ms": stats["p99_ms"]}


def run(args: argparse.Namespace) -> None:
    tree = Path(args.tree).resolve()
    with tempfile.TemporaryDirectory(prefix="ircish-churn-") as tmp:
        work = Path(tmp)
        port = free_port()
        # Shipped plugins moved into the package; older trees kept them at the top.
        plugins = next(p for p in (tree / "ircish" / "plugins", tree / "plugins") if p.is_dir())
        config = write_config(work, port, plugins)
        with serving(tree, config, port, work) as (_, log):
            result = trio.run(churn, port, args)
        text = log.read()
    print(f"tree {tree} {args.channels} channels x {args.lines} lines, "
          f"{args.rate} registrations/s for {args.window}s")
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    print(f"welcome_bot: failures logged={text.count('allowed within')} "
          f"disabled={'plugin welcome_bot disabled' in text} "
          f"store warnings={text.count('history store unavailable')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(ROOT))
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--wait", type=float, default=10.0)
    args = parser.parse_args()
    with exclusive_run(600, f"welcome_churn pid {os.getpid()}") as taken:
        if not taken:
            raise SystemExit("another benchmark kept the machine for 10 minutes")
        run(args)


if __name__ == "__main__":
    main()
