"""The plain data a coordinator hands to its worker processes, and what they hand back.

Everything here is picklable and free of sockets, so it crosses the multiprocessing
pipe as it is. Times are ``time.monotonic_ns()`` values: CLOCK_MONOTONIC is one clock
for the whole machine on Linux, so the coordinator can set instants that every worker
obeys and a receiver can subtract a sender's timestamp taken in another process.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClientSpec:
    """One simulated client."""

    nick: str
    channels: tuple[str, ...]
    # The channel this client sends to, or "" for a client that only listens.
    send_channel: str = ""
    # Small integer carried in every message so a watcher can tell whose message it saw.
    sender_id: int = -1
    # A watcher parses every line it receives: it acknowledges the closed-loop senders of
    # its own process and records the latency of every message it sees.
    watcher: bool = False


@dataclass(frozen=True)
class WorkerPlan:
    index: int
    host: str
    port: int
    clients: tuple[ClientSpec, ...]
    # "closed": each sender keeps `window` messages outstanding; "open": senders send at
    # `rate_per_sender` messages/s whatever happens; "none": nobody sends.
    mode: str
    window: int = 1
    rate_per_sender: float = 0.0
    # Connect everything at once (the connect scenario) or keep at most this many
    # registrations in flight, so setup does not turn into a connect storm.
    setup_concurrency: int = 100
    setup_timeout_s: float = 60.0
    # Parse every received line for its latency (fine at low rates) instead of only the
    # first complete line of each read.
    latency_all_lines: bool = False
    # A closed-loop sender whose messages stop coming back for this long is unblocked
    # and counted as stalled, so one lost message cannot hang the run.
    stall_timeout_s: float = 2.0
    # Clients of this process (besides watchers and senders) read as soon as data
    # arrives and sampled for latency; the rest are read every `sweep_interval_s`,
    # which keeps their deliveries exact at a fraction of the reads. 0 = all eager.
    sample_clients: int = 0
    sweep_interval_s: float = 0.05
    cpus: tuple[int, ...] = ()
    # Scheduling niceness for the worker (negative needs root): on a shared machine a
    # neighbour's time slices would otherwise end up in the measured latencies.
    nice: int = 0
    # SCHED_FIFO for the worker (root): it then runs the moment its data arrives, even on
    # a core that somebody else keeps busy. Linux still leaves 5 % of each second to
    # ordinary processes (sched_rt_runtime_us), so a saturated worker cannot lock a core.
    realtime: bool = False
    padding: int = 0
    # "tcp", or "websocket": the same IRC lines, one WebSocket message each
    # (text.ircv3.net), to a server's WebSocket listener on `port`.
    transport: str = "tcp"


@dataclass(frozen=True)
class Timeline:
    """Absolute instants (monotonic ns) of one measured run, the same for every worker."""

    start: int  # senders begin (warm-up starts)
    measure_start: int  # deliveries and latencies count from here...
    measure_end: int  # ...to here
    send_end: int  # senders stop
    drain_end: int  # receivers stop reading; whatever has not arrived is lost


@dataclass
class SetupReport:
    worker: int
    registered: int = 0
    joined: int = 0
    # Members that finished joining, per channel: the fan-out each message should reach.
    joined_by_channel: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    refused: int = 0
    # connect() -> 001 for every registered client, in ns.
    registration_ns: list[int] = field(default_factory=list)
    first_connect_ns: int = 0
    last_registered_ns: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class RunReport:
    worker: int
    sent_total: int = 0
    sent_in_window: int = 0
    # Messages sent per channel over the whole run (warm-up included), for the lost count.
    sent_by_channel: dict[str, int] = field(default_factory=dict)
    received_total: int = 0
    received_in_window: int = 0
    # Latency samples in ns, received inside the measured window (array('q') bytes).
    latency_ns: bytes = b""
    disconnected: int = 0
    stalls: int = 0
    # How late the open-loop scheduler got behind its plan, worst case (ns).
    max_send_lag_ns: int = 0
    cpu_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
