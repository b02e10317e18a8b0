"""A plugin's "seen anywhere" read, as the store answers it: ``python -m benchmarks.seen_bench``.

``welcome_bot`` asks, for every nick it does not remember, the store's NICK
question of up to 20 channels in one transaction (``ircish.hooks.history.
PluginHistory.last_seen``). This builds that read for a nick that never spoke
(the common case: a newcomer, so every channel's window is looked through to
the end) over ``--channels`` channels, one of them holding ``--busy`` lines
and the others ``--quiet`` each, on a new migrated SQLite file (or the empty
database ``--url`` names), and prints the milliseconds a read takes in this
process, the answering thread's CPU being all of it.
"""

from __future__ import annotations

import argparse
import random
import secrets
import tempfile
import time

from sqlalchemy import insert

from ircish.core.chathistory import PLAYBACK_KINDS, HistoryRequest
from ircish.hooks.history import STORE_CANDIDATES, STORE_CHANNELS, STORE_SCAN
from ircish.search.request import like_nick
from ircish.store import migrate, queries
from ircish.store.database import open_engine
from ircish.store.keys import channel_key
from ircish.store.schema import history

START = 1_767_268_800_000_000  # 2026-01-01, µs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.seen_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=STORE_CHANNELS)
    parser.add_argument("--busy", type=int, default=20_000, help="lines of the busy channel")
    parser.add_argument("--quiet", type=int, default=30, help="lines of each other channel")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args(argv)

    url = args.url or f"sqlite:///{tempfile.mkdtemp(prefix='ircish-seen-')}/seen.db"
    engine = open_engine(url)
    migrate.upgrade(engine)
    names = ["#lobby"] + [f"#c{i}" for i in range(args.channels - 1)]
    rng = random.Random(1)
    rows = []
    for name in names:
        for _ in range(args.busy if name == "#lobby" else args.quiet):
            nick = f"u{rng.randrange(5000)}"
            rows.append({"target_key": channel_key(name), "msgid": secrets.token_hex(8),
                         "time": START + len(rows), "kind": "PRIVMSG",
                         "source": f"{nick}!{nick}@host", "target": name,
                         "text": "w1 w2 w3"})
    with engine.begin() as conn:
        conn.execute(insert(history), rows)
    ref = ("timestamp", START + len(rows) + 1)
    read = tuple(HistoryRequest("NICK", name, (ref,), STORE_CANDIDATES, PLAYBACK_KINDS,
                                window=STORE_SCAN, nick_like=like_nick("newcomer42"))
                 for name in names)

    def once() -> None:
        with engine.connect() as conn, conn.begin():
            for request in read:
                assert queries.answer(conn, request) == []

    once()  # caches warm, as on a server that has greeted before
    began = time.perf_counter()
    for _ in range(args.reads):
        once()
    took = (time.perf_counter() - began) / args.reads
    print(f"seen anywhere over {len(names)} channels ({args.busy} + {args.quiet} each lines,"
          f" window {STORE_SCAN}), {engine.dialect.name}: {took * 1000:.2f} ms a read")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
