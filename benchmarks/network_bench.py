"""Cross-node delivery between ircish nodes on one PostgreSQL (``benchmarks.network_bench``).

Starts ``--nodes`` real node processes (``tests.network.nodes``) on a new
database of the PostgreSQL that ``--url`` (or ``IRCISH_TEST_POSTGRES_URL``)
names, puts ``--senders`` senders and one receiver per node in one channel,
and offers ``--rate`` messages/s network-wide (split over the senders, open
loop) for ``--duration`` seconds. Every receiver should get every message.

The nodes' flood limits (fakelag) and SendQ are lifted: a benchmark measures
the write path, not the server's protection of itself against one client (say
``--server-limits`` to keep them). A sender that falls behind its schedule
sends every line that is due in one write, so the offered rate holds while the
benchmark's process keeps up; each line carries the time it was due, so a
generator that lags shows as latency, never as a lower rate (its worst lag is
printed). The receivers read raw lines (no parser: the benchmark's process is
one of the machine's two cores' users too).

Reports the delivery latency (receive time minus the due time carried in the
text, one clock: every client runs in this process) separately for the same
node and across nodes, p50/p99/max; the network's commits per second (each one
NOTIFY, from the event table); and what was lost: the drain waits until no
line arrived for ``--quiet`` seconds (at most ``--drain``), so a line still
missing then is lost, not late.

``--commits PER,BATCHES`` measures the network worker's commit alone, without
nodes: BATCHES frames of PER channel messages (operations and their history
events, pickled as the server ships them) each unpickled and committed as
the worker does (``ircish.network.worker.commit``), on a new migrated
database; it prints this process's and its backend's CPU µs per message, and the
machine speed (``benchmarks.calibrate``). Both
are robust to other load in a way the delivery latencies are not, and the
batch size is fixed (in the full benchmark the commit count varies with load,
and with it the per-commit share of every figure).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import trio

from benchmarks import calibrate, procstat
from tests.ircclient import RawClient
from tests.network.nodes import Network, Node, child_of

MARK = b" PRIVMSG #bench :"
NO_LIMITS = ("[limits]\nflood_burst = 1000000\nflood_rate = 1000000.0\n"
             "flood_excess = 100000000\nsendq_bytes = 268435456\n")


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _lift_limits(node: Node) -> None:
    text = node.config.read_text()
    text = re.sub(r"\[limits\]\n(?:[a-z_]+ = [^\n]*\n)*", NO_LIMITS, text)
    node.config.write_text(text)


class Receiver:
    """One receiving client. During the run it only keeps what arrived, with its
    arrival time, and counts the benchmark's lines in it (``bytes.count``, in C): the
    lines are parsed after the run (``deliveries``), so the generator's process,
    which shares the machine's two cores with the nodes and PostgreSQL, spends
    little of them while the nodes are measured."""

    def __init__(self, client: RawClient, node: int) -> None:
        self.stream = client.stream
        self.node = node
        self.chunks: list[tuple[float, bytes]] = []
        self.count = 0
        self.last = 0.0

    async def run(self) -> None:
        chunks = self.chunks
        while True:
            data = await self.stream.receive_some(1 << 18)
            if not data:
                return
            now = time.perf_counter()
            self.last = now
            chunks.append((now, data))
            self.count += data.count(MARK)

    def deliveries(self) -> list[tuple[int, int, int, float]]:
        """(receiving node, sender, seq, latency ms) of every line received: a line's
        arrival is that of the read that completed it."""
        got: list[tuple[int, int, int, float]] = []
        buf = b""
        for now, data in self.chunks:
            *lines, buf = (buf + data).split(b"\r\n")
            for line in lines:
                at = line.find(MARK)
                if at < 0:
                    continue
                sender, seq, due = line[at + len(MARK):].split()
                got.append((self.node, int(sender), int(seq), (now - float(due)) * 1000))
        return got


async def _send_all(clients: list[tuple[int, RawClient]], rate: float, duration: float,
                    lag: list[float]) -> int:
    """Every sender's lines on one schedule, ``rate`` messages/s each: the senders'
    lines fall due at the same instants, so one task wakes per instant and writes each
    sender's due lines to its socket (one write each, as before: the nodes see the same
    traffic). One task instead of a task per sender: every wake-up and checkpoint of a
    task was paid for by the generator's process, which shares the machine's two
    cores with what it measures (0.045 CPU s per 1,000 messages at 10,000/s with eight
    sender tasks). A write the socket does not take whole finishes by ``send_all``.
    The count of lines sent, all senders together."""
    start = time.perf_counter()
    total = int(duration * rate)
    seq = 0
    # The sockets' descriptors (Trio's are non-blocking): ``os.write`` takes what
    # fits at once, without a checkpoint.
    fds = [client.stream.socket.fileno() for _, client in clients]
    while seq < total:
        now = time.perf_counter()
        due = min(int((now - start) * rate) + 1, total)
        if due > seq:
            lag[0] = max(lag[0], now - (start + seq / rate))
            for (index, client), fd in zip(clients, fds, strict=True):
                data = b"".join(f"PRIVMSG #bench :{index} {n} {start + n / rate:.6f}\r\n"
                                .encode() for n in range(seq, due))
                try:
                    wrote = os.write(fd, data)
                except BlockingIOError:
                    wrote = 0
                if wrote < len(data):
                    await client.stream.send_all(data[wrote:])
            seq = due
        await trio.sleep(max(0.0, start + seq / rate - time.perf_counter()))
    return seq * len(clients)


def _commits(url: str, since_micros: int) -> tuple[int, int]:
    """(events, commits) in the event table since then: a commit's rows share their
    ``committed`` time's transaction, so count the distinct (origin, epoch, commit)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (origin, xmin::text)) FROM network_events"
            " WHERE committed >= %s", (since_micros,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _roles(members: list[Node], url: str) -> dict[str, list[int]]:
    """The processes whose CPU time a run costs, by role: each node's server and its two
    workers, PostgreSQL (the postmaster listening on the URL's port and every backend,
    the nodes' and other users' alike: run it on a cluster of its own) and this
    generator."""
    roles: dict[str, list[int]] = {}
    for node in members:
        assert node.proc is not None
        pid = node.proc.pid
        roles[f"{node.node_id} server"] = [pid]
        roles[f"{node.node_id} history worker"] = [child_of(pid, b"ircish.store.worker")]
        roles[f"{node.node_id} network worker"] = [child_of(pid, b"ircish.network.worker")]
    port = int(url.rpartition(":")[2].partition("/")[0])
    postmaster = procstat.find_listening_pid(port)
    roles["postgresql"] = procstat.process_tree(postmaster) if postmaster else []
    roles["generator"] = [os.getpid()]
    return roles


def _sys_seconds(pid: int) -> float:
    """stime alone (the kernel's share: syscalls, wake-ups), 0 for a process gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    return int(stat.rpartition(")")[2].split()[12]) / os.sysconf("SC_CLK_TCK")


def _cpu(roles: dict[str, list[int]], url: str) -> dict[int, tuple[float, float]]:
    """(CPU, system) seconds of every process of ``roles`` (PostgreSQL's backends as
    they are now)."""
    port = int(url.rpartition(":")[2].partition("/")[0])
    postmaster = procstat.find_listening_pid(port)
    if postmaster:
        roles["postgresql"] = procstat.process_tree(postmaster)
    return {pid: (procstat.cpu_seconds(pid) or 0.0, _sys_seconds(pid))
            for pids in roles.values() for pid in pids}


async def run(url: str, nodes: int, senders: int, rate: float, duration: float,
              drain: float, quiet: float, server_limits: bool, cpu: bool = False) -> int:
    # Before anything starts: the speed the figures below were measured at.
    speed = calibrate.describe()
    admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                            autocommit=True)
    name = f"ircish_bench_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    db_url = f"{base}/{name}"
    folder = Path(tempfile.mkdtemp(prefix="ircish-netbench-"))
    net = Network(db_url, folder, lease_s=10)
    try:
        members = [net.add(f"n{i + 1}") for i in range(nodes)]
        if not server_limits:
            for node in members:
                _lift_limits(node)
        await net.start(members[0])
        if nodes > 1:
            await net.start(*members[1:])
        receivers: list[Receiver] = []
        sending: list[tuple[int, RawClient]] = []
        for i, node in enumerate(members):
            client = await node.client(f"recv{i}")
            await client.send("JOIN #bench")
            await client.expect("366")
            receivers.append(Receiver(client, i))
            for j in range(senders):
                sender = await node.client(f"send{i}x{j}")
                await sender.send("JOIN #bench")
                await sender.expect("366")
                sending.append((i * senders + j, sender))
        await trio.sleep(1.0)  # every node's replica has every member
        lag = [0.0]
        since = time.time_ns() // 1000
        roles = _roles(members, url) if cpu else {}
        cpu_before = _cpu(roles, url) if cpu else {}
        load_before = os.getloadavg()[0]
        async with trio.open_nursery() as nursery:
            for receiver in receivers:
                nursery.start_soon(receiver.run)

            sent = await _send_all(sending, rate / len(sending), duration, lag)
            ended = time.perf_counter()
            expected = sent * nodes
            while time.perf_counter() - ended < drain:
                if sum(r.count for r in receivers) >= expected:
                    break
                if time.perf_counter() - max(r.last for r in receivers) > quiet:
                    break
                await trio.sleep(0.1)
            drained = time.perf_counter() - ended
            cpu_after = _cpu(roles, url) if cpu else {}
            nursery.cancel_scope.cancel()
        got = [row for r in receivers for row in r.deliveries()]
        same = [ms for node, sender, _, ms in got if node == sender // senders]
        cross = [ms for node, sender, _, ms in got if node != sender // senders]
        events, commits = await trio.to_thread.run_sync(_commits, db_url, since)
        print(f"nodes={nodes} senders={len(sending)} offered={rate:.0f} msg/s for "
              f"{duration:.0f} s: sent {sent} ({sent / duration:.0f}/s, generator "
              f"lag max {lag[0] * 1000:.0f} ms), deliveries {len(got)} of {expected} "
              f"(lost {expected - len(got)}; drained {drained:.1f} s)"
              + ("" if server_limits else "; flood limits and SendQ lifted"))
        print(f"  {speed}")
        for label, values in (("same node", same), ("cross node", cross)):
            if values:
                print(f"  {label:<10} n={len(values):>6} p50 {_pct(values, 50):7.2f} ms  "
                      f"p99 {_pct(values, 99):7.2f} ms  max {max(values):7.2f} ms")
        print(f"  network: {events} events in {commits} commits "
              f"({commits / duration:.0f} commits/s, {events / max(commits, 1):.1f} per commit)")
        if cpu:
            per = 1000 / max(sent, 1)
            total = total_sys = 0.0
            print(f"  CPU s per 1,000 messages sent (load {load_before:.1f} before):")
            for role, pids in roles.items():
                used = sum(cpu_after.get(p, (0.0, 0.0))[0] - cpu_before.get(p, (0.0, 0.0))[0]
                           for p in pids)
                system = sum(cpu_after.get(p, (0.0, 0.0))[1]
                             - cpu_before.get(p, (0.0, 0.0))[1] for p in pids)
                total += used
                total_sys += system
                print(f"    {role:<22} {used * per:7.3f}  ({used:6.2f} s, {system:5.2f} s system)")
            print(f"    {'all':<22} {total * per:7.3f}  ({total:6.2f} s, "
                  f"{total_sys:5.2f} s system)")
        return 0 if expected == len(got) else 1
    finally:
        for node in net.nodes:
            for client in node.clients:
                with trio.move_on_after(1):
                    await client.aclose()
        net.stop_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _run_seconds(pid: int) -> float:
    """A process's time on a CPU, from /proc/PID/schedstat (ns): utime and stime count
    in ticks of 10 ms, which were 2 us a message of a 40 x 128 run; falls back to
    them where schedstat is missing."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return procstat.cpu_seconds(pid) or 0.0


def commits_only(url: str, per: int, batches: int) -> int:
    """See the module's docstring (``--commits``)."""
    import json
    import pickle

    from ircish.core.events import MessageEvent
    from ircish.history import codec
    from ircish.network import db, worker
    from ircish.store import migrate
    from ircish.store.database import open_engine

    frames = []
    k = 0
    for _ in range(batches + 1):  # the first one warms up
        ops, events = [], []
        for _ in range(per):
            k += 1
            text, source = f"{k % 4} {k} {1.7e9 + k / 5000:.6f}", f"s{k % 4}!~s{k % 4}@127.0.0.1"
            micros, msgid = 1_700_000_000_000_000 + k, f"19e3b{k:07x}"
            ops.append({"t": "msg", "command": "PRIVMSG", "source": source, "account": None,
                        "target": "#bench", "channel": True, "text": text, "tags": {},
                        "msgid": msgid, "micros": micros})
            events.append(MessageEvent(msgid=msgid, micros=micros, command="PRIVMSG",
                                       source=source, nick=f"s{k % 4}", account=None,
                                       target="#bench", is_channel=True, text=text))
        frames.append(pickle.dumps(("events", ops, codec.encode(events)),
                                   protocol=pickle.HIGHEST_PROTOCOL))
    admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                            autocommit=True)
    name = f"ircish_bench_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = url.rpartition("/")
    try:
        engine = open_engine(f"{base}/{name}")
        migrate.upgrade(engine)
        engine.dispose()
        conn = db.connect(f"{base}/{name}", autocommit=True)  # as the worker's writer
        epoch, _ = db.join(conn, "n1", 600)
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        backend = int(row[0])

        def commit(frame: bytes) -> None:
            _, ops, encoded = pickle.loads(frame)
            worker.commit(conn, "n1", epoch, ops, encoded)

        commit(frames[0])
        client0, backend0 = time.process_time(), _run_seconds(backend)
        for frame in frames[1:]:
            commit(frame)
        client1, backend1 = time.process_time(), _run_seconds(backend)
        conn.close()
        count = per * batches
        print(json.dumps({"per_commit": per, "commits": batches,
                          "client_us": round(1e6 * (client1 - client0) / count, 2),
                          "backend_us": round(1e6 * (backend1 - backend0) / count, 2),
                          "load": os.getloadavg()[0],
                          "speed_us": round(calibrate.line_us(), 2)}))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("IRCISH_TEST_POSTGRES_URL", ""),
                        help="a PostgreSQL role that may create databases")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--senders", type=int, default=2, help="sending clients per node")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages/s network-wide")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=60.0,
                        help="the longest wait for the last deliveries")
    parser.add_argument("--quiet", type=float, default=10.0,
                        help="the drain ends once no line arrived for this long")
    parser.add_argument("--cpu", action="store_true",
                        help="print each process's CPU seconds per 1,000 messages sent")
    parser.add_argument("--server-limits", action="store_true",
                        help="keep the nodes' flood limits and SendQ (fakelag slows senders)")
    parser.add_argument("--commits", metavar="PER,BATCHES",
                        help="only the network worker's commits: BATCHES of PER messages")
    args = parser.parse_args()
    if not args.url:
        print("network_bench: give --url or IRCISH_TEST_POSTGRES_URL (`.ci/postgres start`)",
              file=sys.stderr)
        return 2
    if args.commits:
        per, _, batches = args.commits.partition(",")
        return commits_only(args.url, int(per), int(batches or 30))
    return trio.run(run, args.url, args.nodes, args.senders, args.rate, args.duration,
                    args.drain, args.quiet, args.server_limits, args.cpu)


if __name__ == "__main__":
    sys.exit(main())
