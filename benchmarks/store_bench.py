"""Micro-benchmark of the history write path: ``python -m benchmarks.store_bench``.

Three measurements on a fresh SQLite database in a temporary directory:

1. burst: N messages queued at once, then one flush: the writer's peak rate;
2. sustained: messages offered at a fixed rate from the Trio thread while the
   writer runs, sampling the backlog every second: keeping up means the
   backlog stays bounded (about one flush interval's worth), not growing;
3. size: the database file per million messages, extrapolated from the burst.

``--mode worker`` (the default) goes the way the server does: through
``StoreClient`` to the history worker process. ``--mode inprocess`` drives the
engine-backed ``HistoryWriter`` in this process (its commits in a worker
thread), as the server did before the worker existed. Both print this
process's CPU time per message: in worker mode that is what each stored line
costs the server's own core (queueing, encoding, sending), in-process mode it
includes the commits.

Messages look like chat: a channel PRIVMSG of ~60 characters from one of 500
nicks into one of 50 channels, a msgid like the server's, no tags.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import trio

from ircish.core.events import MessageEvent
from ircish.history.client import StoreClient
from ircish.history.settings import StoreSettings
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.writer import HistoryWriter

Sink = HistoryWriter | StoreClient

WORDS = "the quick brown fox jumps over a lazy dog while irc servers relay chat lines".split()


def make_messages(n: int, seed: int = 1) -> list[MessageEvent]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        nick = f"user{rng.randrange(500)}"
        out.append(
            MessageEvent(
                msgid=f"a1b2c3d4{i:x}",
                micros=time.time_ns() // 1_000,
                command="PRIVMSG",
                source=f"{nick}!~{nick}@host-{rng.randrange(9999)}.example.net",
                nick=nick,
                account=None,
                target=f"#channel{rng.randrange(50)}",
                is_channel=True,
                text=" ".join(rng.choice(WORDS) for _ in range(12))[:60],
            )
        )
    return out


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def written(sink: Sink) -> int:
    return sink.stats.written if isinstance(sink, HistoryWriter) else sink.stats.acked


async def burst(sink: Sink, messages: list[MessageEvent]) -> tuple[float, float]:
    """Messages per second persisted, and this process's CPU µs per message."""
    cpu = time.process_time()
    start = time.perf_counter()
    for m in messages:
        sink.submit(m)
    await sink.flush()
    elapsed = time.perf_counter() - start
    return len(messages) / elapsed, (time.process_time() - cpu) / len(messages) * 1e6


async def sustained(
    sink: Sink, messages: list[MessageEvent], rate: int, seconds: float
) -> tuple[float, list[int], float]:
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    samples: list[int] = []
    written_before = written(sink)
    cpu = time.process_time()
    start = trio.current_time()
    i = 0
    next_tick = start
    next_sample = start + 1
    while trio.current_time() - start < seconds:
        for _ in range(per_tick):
            sink.submit(messages[i % len(messages)])
            i += 1
        next_tick += tick
        if trio.current_time() >= next_sample:
            samples.append(sink.backlog)
            next_sample += 1
        await trio.sleep_until(next_tick)
    offered_for = trio.current_time() - start
    await sink.flush()
    cpu_us = (time.process_time() - cpu) / max(i, 1) * 1e6
    return (written(sink) - written_before) / offered_for, samples, cpu_us


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        # --url: an empty database elsewhere (PostgreSQL); default a new SQLite file.
        url = args.url or f"sqlite:///{path}"
        engine = open_engine(url)
        # --revision 0006: the schema before the search index (0007), for a before/after.
        migrate.upgrade(engine, args.revision)
        sink: Sink
        if args.mode == "worker":
            settings = StoreSettings(
                url=url,
                flush_interval_ms=args.flush_interval_ms,
                queue_limit=10_000_000,
            )
            sink = StoreClient(settings, None)
        else:
            sink = HistoryWriter(
                engine, flush_interval_ms=args.flush_interval_ms, queue_limit=10_000_000
            )
        async with trio.open_nursery() as nursery:
            await nursery.start(sink.run)
            # Unique msgids per run: the sustained phase reuses burst messages otherwise.
            burst_msgs = make_messages(args.burst, seed=1)
            rate, cpu_us = await burst(sink, burst_msgs)
            commits = (
                f"{sink.stats.batches} transaction(s)"
                if isinstance(sink, HistoryWriter)
                else f"{sink.stats.frames} frame(s) to worker pid {sink.pid}"
            )
            print(
                f"burst:     {args.burst} messages, {rate:,.0f} msg/s persisted ({commits}); "
                f"{cpu_us:.1f} µs CPU per message in this process"
            )
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    size = db_size(path)
                else:
                    size = conn.exec_driver_sql(
                        "SELECT pg_total_relation_size('history')").scalar_one()
            print(
                f"size:      {size / 1e6:.1f} MB for {args.burst} messages = "
                f"{size / args.burst * 1e6 / 1e6:,.0f} MB per million messages"
            )
            sus_msgs = [
                MessageEvent(**{**{f: getattr(m, f) for f in m.__slots__}, "msgid": f"s{i}"})
                for i, m in enumerate(make_messages(int(args.rate * args.seconds) + 1000, seed=2))
            ]
            persisted, samples, cpu_us = await sustained(sink, sus_msgs, args.rate, args.seconds)
            print(
                f"sustained: offered {args.rate:,} msg/s for {args.seconds:.0f} s, "
                f"persisted {persisted:,.0f} msg/s; backlog each second: {samples}; "
                f"max backlog {max(samples) if samples else 0} "
                f"(flush interval {args.flush_interval_ms} ms); "
                f"{cpu_us:.1f} µs CPU per message in this process"
            )
            nursery.cancel_scope.cancel()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flush-interval-ms", type=int, default=50)
    parser.add_argument("--mode", choices=("worker", "inprocess"), default="worker")
    parser.add_argument("--url", help="an empty database to use (default: a new SQLite file)")
    parser.add_argument("--revision", default="head",
                        help="migrate to this revision only (e.g. 0006: without the search "
                        "index; --mode inprocess, as the worker migrates to head itself)")
    args = parser.parse_args()
    backend = args.url.split(":", 1)[0] if args.url else "SQLite"
    print(f"{backend} store benchmark ({args.mode}), pid {os.getpid()}")
    trio.run(main_async, args)


if __name__ == "__main__":
    main()
