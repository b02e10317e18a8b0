"""Search latency over a large history: ``python -m benchmarks.search_bench``.

Builds a database of ``--messages`` chat lines (default one million) at the schema
before the search index (revision 0006), then upgrades it to head, so the
migration's backfill of the index is timed too. Lines look like chat: 50
channels, 500 nicks, 5 % private lines, 4 to 16 words each drawn from a
vocabulary of 5,000 words with a Zipf-like frequency (a few words everywhere,
most rare), so queries meet every selectivity.

Then it times ``--queries`` two-word searches limited to 50 results the way the
SEARCH command asks them: a ``SearchRequest`` through ``StoreClient.ask`` to the
history worker process (the server's path: pickling, the socketpair, the
worker's reader thread, the query) and, for comparison, the same request
through an in-process ``HistoryReader``. Two scopes: ``in=<one channel>``, and
no ``in`` (the ten channels the asker is in plus its private conversations).
The words of each query are drawn from the same distribution as the texts.
Prints p50, p90, p99 and max per scope, and how many searches found 50 lines.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from ircish.core.chathistory import Viewer
from ircish.history.client import StoreClient
from ircish.history.settings import StoreSettings
from ircish.search.request import SearchAnswer, SearchRequest
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.keys import dm_key
from ircish.store.reader import HistoryReader

VOCABULARY = 5_000
CHANNELS = 50
NICKS = 500
START_US = 1_700_000_000_000_000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def zipf_weights() -> list[float]:
    return [1 / (rank ** 1.07) for rank in range(1, VOCABULARY + 1)]


_COLUMNS = ("target_key", "msgid", "time", "kind", "source", "account", "target", "text",
            "sender_key", "recipient_key", "sender_session", "recipient_session")


def rows(n: int, words: list[str], weights: list[float], rng: random.Random
         ) -> list[tuple[Any, ...]]:
    out = []
    cum = list(_accumulate(weights))
    for i in range(n):
        count = rng.randint(4, 16)
        text = " ".join(rng.choices(words, cum_weights=cum, k=count))
        nick = f"user{rng.randrange(NICKS)}"
        source = f"{nick}!~{nick}@host.example.net"
        micros = START_US + i * 1_000
        if rng.random() < 0.05:
            other = f"user{rng.randrange(NICKS)}"
            out.append((dm_key(nick, other), f"m{i:x}", micros, "PRIVMSG", source, nick, other,
                        text, nick, other, f"s-{nick}", f"s-{other}"))
        else:
            channel = f"#channel{rng.randrange(CHANNELS)}"
            out.append((channel, f"m{i:x}", micros, "PRIVMSG", source, None, channel, text,
                        None, None, None, None))
    return out


def _accumulate(values: list[float]) -> list[float]:
    total = 0.0
    out = []
    for v in values:
        total += v
        out.append(total)
    return out


def build(url: str, n: int, words: list[str], weights: list[float]) -> None:
    engine = open_engine(url)
    migrate.upgrade(engine, "0006")
    rng = random.Random(7)
    start = time.perf_counter()
    insert = (f"INSERT INTO history ({', '.join(_COLUMNS)}) VALUES "
              f"({', '.join('?' if engine.dialect.name == 'sqlite' else '%s' for _ in _COLUMNS)})")
    done = 0
    while done < n:
        chunk = rows(min(100_000, n - done), words, weights, rng)
        # Distinct msgids across chunks: offset the counter.
        chunk = [(r[0], f"m{done + i:x}", START_US + (done + i) * 1_000, *r[3:])
                 for i, r in enumerate(chunk)]
        with engine.begin() as conn:
            conn.exec_driver_sql(insert, chunk)
        done += len(chunk)
    print(f"built:     {n:,} lines at revision 0006 in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    migrate.upgrade(engine)
    print(f"migrated:  to head (the search index built over them) in "
          f"{time.perf_counter() - start:.1f} s")
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def requests(count: int, words: list[str], weights: list[float], scope: str
             ) -> list[SearchRequest]:
    rng = random.Random(11)
    cum = _accumulate(weights)
    out = []
    for _ in range(count):
        pair = rng.choices(words, cum_weights=cum, k=2)
        while pair[0] == pair[1]:
            pair = rng.choices(words, cum_weights=cum, k=2)
        nick = f"user{rng.randrange(NICKS)}"
        viewer = Viewer(nick, None, f"s-{nick}")
        phrases = ((pair[0],), (pair[1],))
        if scope == "one channel":
            channels: tuple[tuple[str, int | None], ...] = (
                (f"#channel{rng.randrange(CHANNELS)}", None),)
            out.append(SearchRequest(channels=channels, viewer=viewer, phrases=phrases,
                                     limit=50))
        else:
            joined = rng.sample(range(CHANNELS), 10)
            channels = tuple((f"#channel{c}", None) for c in joined)
            out.append(SearchRequest(channels=channels, viewer=viewer, private=True,
                                     phrases=phrases, limit=50))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def time_all(ask: Callable[[SearchRequest], Awaitable[SearchAnswer]],
                   reqs: list[SearchRequest], label: str) -> None:
    for r in reqs[:20]:  # warm the page cache and the worker's connections
        await ask(r)
    times = []
    full = stopped = 0
    for r in reqs:
        start = time.perf_counter()
        answer = await ask(r)
        times.append((time.perf_counter() - start) * 1000)
        full += len(answer.records) == r.limit
        stopped += answer.stopped
    print(f"{label}: {len(reqs)} searches, p50 {statistics.median(times):.1f} ms, "
          f"p90 {percentile(times, 0.90):.1f} ms, p99 {percentile(times, 0.99):.1f} ms, "
          f"max {max(times):.1f} ms; {full} found 50 lines, {stopped} over budget")


async def main_async(args: argparse.Namespace, url: str) -> None:
    words = vocabulary(random.Random(3))
    weights = zipf_weights()
    if not args.reuse:
        build(url, args.messages, words, weights)
    scopes = ("one channel", "all mine")
    engine = open_engine(url)
    # The in-process reader first, then the worker, which migrates a reused database to
    # head: upgrade it here, so both search the same schema (a minute per million lines
    # for an index to build), and say which revision that was.
    start = time.perf_counter()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    print(f"revision:  {after}" if before == after else
          f"revision:  {before} -> {after} in {time.perf_counter() - start:.1f} s")
    reader = HistoryReader(engine)

    async def local(r: SearchRequest) -> SearchAnswer:
        (answer,) = await reader.ask(r)
        return answer  # type: ignore[no-any-return]

    for scope in scopes:
        await time_all(local, requests(args.queries, words, weights, scope),
                       f"in-process, {scope:11}")
    engine.dispose()
    client = StoreClient(StoreSettings(url=url), None)
    async with trio.open_nursery() as nursery:
        await nursery.start(client.run)

        async def through_worker(r: SearchRequest) -> SearchAnswer:
            (answer,) = await client.ask(r)
            return answer  # type: ignore[no-any-return]

        for scope in scopes:
            await time_all(through_worker, requests(args.queries, words, weights, scope),
                           f"worker RPC, {scope:11}")
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--url", help="an empty database to fill (default: a new SQLite file)")
    parser.add_argument("--db", help="the SQLite file to build (kept), instead of a temporary one")
    parser.add_argument("--reuse", action="store_true",
                        help="search --db/--url again (migrated to head first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "search.db"
        url = args.url or f"sqlite:///{path}"
        print(f"search benchmark on {url.split(':', 1)[0]}, pid {os.getpid()}")
        trio.run(main_async, args, url)


if __name__ == "__main__":
    main()
