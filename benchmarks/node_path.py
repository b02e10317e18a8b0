"""A network node's server-process work per channel line, in-process (``benchmarks.node_path``).

Two nodes' servers are built as a node runs them (``build_server`` with
``[storage]`` on PostgreSQL and ``[network]``: every feature's event listener,
the network capture, replica and client), but nothing is started: no worker,
no database, no socket, no Trio loop. Three users of node n1 and three of n2
are in ``#bench`` (the shape of ``network_bench``'s channel); one of n1's sends
N lines.

- **origin** (n1): each line framed, parsed and handled by the core (delivery to
  the two local members, the event to every listener, the capture's operation),
  and every 100 lines the frame its ship loop would send (``codec.encode`` of
  the history events and the pickle of both).
- **remote** (n2): each such frame's operations as the network worker hands
  them over (read back from JSON, pickled as a ``remote`` frame), unpickled and
  applied by the replica (fan-out to n2's three members).

Prints process CPU µs per line for each side. The counts do not depend on other
load, so the figure to compare trees by is an instruction count: run the
``both`` mode under ``valgrind --tool=callgrind`` for two N and divide the
difference by the difference of N (the setup cancels out)::

    python -m benchmarks.node_path 20000          # CPU µs per line, each side
    python -m benchmarks.node_path 5000 --both    # one pass of both, no timing
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

from ircish.app import build_server
from ircish.history import codec
from ircish.history.rpc import pack
from ircish.net.app import IrcServer
from ircish.protocol.framing import LineFramer, decode_checked
from ircish.protocol.message import parse
from ircish.testing import test_config
from tests.core.helpers import Client

PER_FRAME = 100


def _node(folder: Path, name: str) -> IrcServer:
    (folder / name).mkdir()
    return build_server(test_config(folder / name, {
        "server": {"name": f"{name}.test"},
        "storage": {"url": "postgresql+psycopg://bench@127.0.0.1:1/unused"},
        "network": {"node_id": name},
        "limits": {"flood_burst": 1000000, "flood_rate": 1000000.0},
    }))


def _member(app: IrcServer, nick: str) -> Client:
    # Registered without the network's nick claim (no worker to ask).
    core = app.core
    claims, core.nick_claims = core.nick_claims, None
    client = Client(core)
    client.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    core.nick_claims = claims
    assert client.user.registered
    client.send("JOIN #bench")
    return client


class Pair:
    def __init__(self, folder: Path | None = None) -> None:
        # The servers' config folders (nothing is written there): a test's tmp_path.
        folder = folder or Path(tempfile.mkdtemp(prefix="ircish-node-path-"))
        self.a, self.b = _node(folder, "n1"), _node(folder, "n2")
        self.net_a = self.a.extension("network").owner  # type: ignore[union-attr]
        self.net_b = self.b.extension("network").owner  # type: ignore[union-attr]
        self.sender = _member(self.a, "send0x0")
        self.members_a = [_member(self.a, "send0x1"), _member(self.a, "recv0")]
        # n2 learns of n1's users and their joins as its replica would.
        self.net_b._remote([("n1", 0, json.loads(json.dumps(op)))
                            for op in self.take_ops()[0]])
        self.members_b = [_member(self.b, nick) for nick in ("send1x0", "send1x1", "recv1")]
        self.net_b.client._queue.clear()
        self.net_b.client._history.clear()
        self.framer = LineFramer(512, 8191)
        self.delivered = 0
        self._k = 0

    def take_ops(self) -> tuple[list[Any], list[Any]]:
        client = self.net_a.client
        ops, client._queue = client._queue, []
        history, client._history = client._history, []
        return ops, history

    def _clear(self) -> None:
        for member in self.members_a + self.members_b:
            self.delivered += sum(chunk.count(b" PRIVMSG #bench :") for chunk in member.sink.chunks)
            member.sink.chunks.clear()

    def origin(self, n: int) -> list[bytes]:
        """n lines from n1's sender; the frames n1's ship loop would send."""
        core, user, framer = self.a.core, self.sender.user, self.framer
        data = [f"PRIVMSG #bench :0 {k} {1764651234 + k / 5000:.6f}\r\n".encode()
                for k in range(self._k, self._k + n)]
        self._k += n
        frames = []
        for k, raw in enumerate(data):
            for line in framer.feed(raw):
                text, _ = decode_checked(line)  # type: ignore[arg-type]
                core.handle(user, parse(text))
            if k % PER_FRAME == PER_FRAME - 1 or k == n - 1:
                ops, history = self.take_ops()
                frames.append(pack(("events", ops, codec.encode(history))))
                self._clear()
        return frames

    @staticmethod
    def as_remote(frames: list[bytes]) -> list[bytes]:
        """The frames' operations as n2's network worker hands them to n2."""
        out = []
        for frame in frames:
            ops = pickle.loads(frame[4:])[1]
            rows = [("n1", i, json.loads(json.dumps(op))) for i, op in enumerate(ops)]
            out.append(pickle.dumps(("remote", rows), protocol=pickle.HIGHEST_PROTOCOL))
        return out

    def remote(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.net_b._remote(pickle.loads(frame)[1])
            self._clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lines", type=int, nargs="?", default=20000)
    parser.add_argument("--both", action="store_true",
                        help="one untimed pass of both sides (for callgrind)")
    args = parser.parse_args()
    pair = Pair()
    n = args.lines
    if args.both:
        pair.remote(pair.as_remote(pair.origin(n)))
        assert pair.delivered == 5 * n, pair.delivered
        return 0
    pair.remote(pair.as_remote(pair.origin(n)))  # warm up
    pair.delivered = 0
    t0 = time.process_time()
    frames = pair.origin(n)
    t1 = time.process_time()
    incoming = pair.as_remote(frames)
    t2 = time.process_time()
    pair.remote(incoming)
    t3 = time.process_time()
    assert pair.delivered == 5 * n, pair.delivered
    print(json.dumps({"lines": n, "origin_us": round(1e6 * (t1 - t0) / n, 2),
                      "remote_us": round(1e6 * (t3 - t2) / n, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
