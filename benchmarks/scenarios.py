"""The named scenarios: their default parameters, targets, and how clients are laid out.

A scenario is plain data; ``layout`` turns it into one ``WorkerPlan`` per process.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from benchmarks.plan import ClientSpec, WorkerPlan


@dataclass(frozen=True)
class Target:
    """``metric op value``, checked against the summary (e.g. p99_ms < 10)."""

    metric: str
    op: str  # "<", "<=", ">=", "=="
    value: float

    def check(self, measured: float | None) -> bool | None:
        if measured is None:
            return None
        return {
            "<": measured < self.value,
            "<=": measured <= self.value,
            ">=": measured >= self.value,
            "==": measured == self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    clients: int
    channels: int = 1
    # How many clients send (the first ones, spread over the channels round-robin).
    senders: int = 0
    mode: str = "none"  # closed | open | none
    # Open loop: total messages per second over all senders.
    rate: float = 0.0
    # Closed loop: outstanding messages per sender.
    window: int = 1
    duration: float = 10.0
    warmup: float = 2.0
    drain: float = 2.0
    # 0: connect every client at once; otherwise registrations in flight per process.
    setup_concurrency: int = 100
    setup_timeout: float = 90.0
    latency_all_lines: bool = False
    # False for connect: its numbers come from setup, there is nothing to run.
    run_phase: bool = True
    padding: int = 0
    # Clients read at once and sampled for latency, over all processes (0 = every client);
    # the others are read in sweeps every 50 ms: same deliveries, far fewer reads.
    sample_clients: int = 0
    targets: tuple[Target, ...] = field(default_factory=tuple)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="fanout",
            summary="100 clients in one channel, 10 closed-loop senders",
            clients=100,
            senders=10,
            mode="closed",
            window=4,
            sample_clients=20,
            targets=(Target("deliveries_per_s", ">=", 1_000_000), Target("p99_ms", "<", 10)),
        ),
        Scenario(
            name="bigchannel",
            summary="1000 clients in one channel, 200 messages/s open loop",
            clients=1000,
            senders=10,
            mode="open",
            rate=200.0,
            sample_clients=100,
            targets=(Target("lost", "==", 0), Target("p99_ms", "<", 20)),
        ),
        Scenario(
            name="manychannels",
            summary="1000 clients in 100 channels of 10, each sending 1 message/s",
            clients=1000,
            channels=100,
            senders=1000,
            mode="open",
            rate=1000.0,
            duration=20.0,
            latency_all_lines=True,
            targets=(Target("p99_ms", "<", 2), Target("server_cpu_pct", "<", 20)),
        ),
        Scenario(
            name="connect",
            summary="2000 clients connecting at once",
            clients=2000,
            channels=0,
            setup_concurrency=0,
            run_phase=False,
            targets=(Target("refused", "==", 0), Target("failed", "==", 0)),
        ),
        Scenario(
            name="idle",
            summary="1000 registered idle clients: server memory",
            clients=1000,
            channels=0,
            duration=3.0,
            warmup=1.0,
            drain=0.0,
            targets=(Target("server_rss_mb", "<=", 40),),
        ),
    )
}


def channel_names(count: int) -> list[str]:
    return [f"#lg{j}" for j in range(count)]


def layout(
    sc: Scenario, host: str, port: int, procs: int, cpus: tuple[int, ...]
) -> list[WorkerPlan]:
    """Spread the clients over ``procs`` processes, round-robin.

    Channel of client i: i mod channels. Senders: clients 0..senders-1, so with
    round-robin channels they cover the channels evenly. In a closed loop each process
    names one non-sending member of each channel it sends to as the watcher that
    acknowledges its local senders (see README "closed loop").
    """
    procs = max(1, min(procs, sc.clients))
    # A fresh nick prefix per run: a server still holding an earlier run's ghost
    # (or a neighbour's clients) must not turn into nick collisions.
    prefix = "l" + "".join(random.choices(string.ascii_lowercase, k=2))
    chans = channel_names(sc.channels)
    specs: list[list[ClientSpec]] = [[] for _ in range(procs)]
    watched: set[tuple[int, str]] = set()
    send_chans = {chans[i % len(chans)] for i in range(sc.senders)} if chans else set()
    for i in range(sc.clients):
        w = i % procs
        chan = chans[i % len(chans)] if chans else ""
        sender = i < sc.senders and sc.mode != "none" and bool(chan)
        watcher = (
            sc.mode == "closed" and not sender and chan in send_chans and (w, chan) not in watched
        )
        if watcher:
            watched.add((w, chan))
        specs[w].append(
            ClientSpec(
                nick=f"{prefix}{i}",
                channels=(chan,) if chan else (),
                send_channel=chan if sender else "",
                sender_id=i if sender else -1,
                watcher=watcher,
            )
        )
    if sc.mode == "closed":
        for w, clients in enumerate(specs):
            for c in clients:
                if c.send_channel and (w, c.send_channel) not in watched:
                    raise ValueError(
                        f"{sc.name}: process {w} has a sender in {c.send_channel} but no other "
                        "member there to watch it; use more clients or fewer processes"
                    )
    senders_total = min(sc.senders, sc.clients)
    rate_per_sender = sc.rate / senders_total if senders_total and sc.rate else 0.0
    return [
        WorkerPlan(
            index=w,
            host=host,
            port=port,
            clients=tuple(clients),
            mode=sc.mode,
            window=sc.window,
            rate_per_sender=rate_per_sender,
            setup_concurrency=sc.setup_concurrency,
            setup_timeout_s=sc.setup_timeout,
            latency_all_lines=sc.latency_all_lines,
            cpus=cpus,
            padding=sc.padding,
            sample_clients=-(-sc.sample_clients // procs) if sc.sample_clients > 0 else 0,
        )
        for w, clients in enumerate(specs)
    ]


def members_by_channel(plans: list[WorkerPlan]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plan in plans:
        for c in plan.clients:
            for ch in c.channels:
                counts[ch] = counts.get(ch, 0) + 1
    return counts
