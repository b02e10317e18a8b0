"""Runs one scenario: starts the worker processes, steps them through the phases, samples
the server from /proc during the measured window, and sums everything into one result.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from benchmarks import procstat
from benchmarks.plan import RunReport, SetupReport, Timeline
from benchmarks.scenarios import Scenario, layout
from benchmarks.stats import merge, percentiles_ms
from benchmarks.worker import worker_main


class BenchmarkError(Exception):
    """A run that could not produce numbers: the message says why."""


@dataclass(frozen=True)
class TargetServer:
    host: str
    port: int
    pid: int | None = None
    label: str = "server"
    # The server's WebSocket listener, for --transport websocket (ircish only).
    ws_port: int | None = None


class _Workers:
    """The worker processes and their pipes, stopped for sure on exit."""

    def __init__(self, plans: list[Any]) -> None:
        # spawn, not fork: a worker starts from a clean interpreter whatever the caller
        # (pytest, Trio) had running.
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for plan in plans:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(plan, theirs), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(ours)
            self.procs.append(proc)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass
        deadline = time.monotonic() + 10
        for proc in self.procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(2)

    def gather(self, kind: str, timeout_s: float, pipes: list[Connection] | None = None) -> list:
        """One ``kind`` answer from each pipe, or BenchmarkError on timeout or crash."""
        waiting = list(pipes if pipes is not None else self.pipes)
        answers: dict[int, Any] = {}
        deadline = time.monotonic() + timeout_s
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchmarkError(f"workers did not answer {kind!r} within {timeout_s:.0f}s")
            for pipe in wait(waiting, left):
                assert isinstance(pipe, Connection)
                try:
                    msg = pipe.recv()
                except EOFError as exc:
                    raise BenchmarkError("a worker process died") from exc
                if msg[0] == "error":
                    raise BenchmarkError("a worker failed:\n" + msg[1])
                if msg[0] == kind:
                    answers[self.pipes.index(pipe)] = msg[1] if len(msg) > 1 else None
                    waiting.remove(pipe)
        return [answers[i] for i in sorted(answers)]


def _sleep_until(t_ns: int) -> None:
    while True:
        left = (t_ns - time.monotonic_ns()) / 1e9
        if left <= 0:
            return
        time.sleep(min(left, 0.25))


def run_scenario(
    sc: Scenario,
    server: TargetServer,
    procs: int,
    cpus: tuple[int, ...],
    nice: int = 0,
    realtime: bool = False,
    transport: str = "tcp",
) -> dict[str, Any]:
    port = server.port
    if transport == "websocket":
        if server.ws_port is None:
            raise BenchmarkError(f"{server.label} has no WebSocket listener")
        port = server.ws_port
    plans = [
        dataclasses.replace(p, nice=nice, realtime=realtime, transport=transport)
        for p in layout(sc, server.host, port, procs, cpus)
    ]
    pid = server.pid
    result: dict[str, Any] = {
        "scenario": sc.name,
        "server": server.label,
        "params": {
            "clients": sc.clients,
            "channels": sc.channels,
            "senders": sc.senders,
            "mode": sc.mode,
            "rate": sc.rate,
            "window": sc.window,
            "duration": sc.duration,
            "warmup": sc.warmup,
            "drain": sc.drain,
            "procs": len(plans),
            "transport": transport,
            "loadgen_cpus": list(cpus),
            "nice": nice,
            "loadgen_realtime": realtime,
        },
    }
    rss_before = _settled_rss(pid) if pid else None
    with _Workers(plans) as workers:
        workers.gather("hello", 30)
        connect_at = time.monotonic_ns() + 200_000_000
        for pipe in workers.pipes:
            pipe.send(("setup", connect_at))
        setups: list[SetupReport] = workers.gather("setup", sc.setup_timeout + 30)
        result.update(_setup_summary(setups, sc))
        if not sc.run_phase:
            if pid:
                result["server_rss_mb"] = _mb(procstat.tree_rss_bytes(procstat.process_tree(pid)))
            return result
        echo = False
        first_sender = next(
            (i for i, p in enumerate(plans) if any(c.send_channel for c in p.clients)), None
        )
        if first_sender is not None:
            workers.pipes[first_sender].send(("probe",))
            (echo,) = workers.gather("probe", 10, [workers.pipes[first_sender]])
        result["server_echoes"] = echo
        # Let the last JOIN broadcasts and the probe drain before anything is counted.
        time.sleep(0.5)
        start = time.monotonic_ns() + 100_000_000
        ms = start + int(sc.warmup * 1e9)
        me = ms + int(sc.duration * 1e9)
        tl = Timeline(start, ms, me, me, me + int(sc.drain * 1e9))
        for pipe in workers.pipes:
            pipe.send(("go", tl))
        server_sample = _sample_server(pid, tl)
        left_s = (tl.drain_end - time.monotonic_ns()) / 1e9
        runs: list[RunReport] = workers.gather("run", left_s + 60)
    result.update(server_sample)
    if rss_before is not None:
        result["server_rss_before_mb"] = _mb(rss_before)
        if result.get("server_rss_mb") is not None and result["registered"]:
            grown = result["server_rss_mb"] - result["server_rss_before_mb"]
            result["server_kb_per_client"] = round(grown * 1024 / result["registered"], 1)
    result.update(_run_summary(runs, setups, sc, echo))
    return result


def _settled_rss(pid: int) -> int | None:
    """The server's memory before any client, once it stops growing (helper processes
    may still be importing when the listener is up); at most 3 s of waiting."""
    last = procstat.tree_rss_bytes(procstat.process_tree(pid))
    for _ in range(12):
        time.sleep(0.25)
        now = procstat.tree_rss_bytes(procstat.process_tree(pid))
        if last is not None and now is not None and abs(now - last) <= last * 0.01:
            return now
        last = now
    return last


def _mb(n: int | None) -> float | None:
    return round(n / 1048576, 1) if n is not None else None


def _sample_server(pid: int | None, tl: Timeline) -> dict[str, Any]:
    """CPU over the measured window and peak RSS, sampled while the workers run.

    Totals cover the server's whole process tree (helpers such as a store writer
    process are part of its cost); the main process alone is reported beside them.
    """
    _sleep_until(tl.measure_start)
    machine0 = procstat.cpu_busy_ticks()
    if not pid:
        _sleep_until(tl.measure_end)
        return {"machine_cpu_pct": procstat.busy_pct(machine0, procstat.cpu_busy_ticks())}
    pids = procstat.process_tree(pid)
    cpu0 = procstat.tree_cpu_seconds(pids)
    main0 = procstat.cpu_seconds(pid)
    t0 = time.monotonic_ns()
    peak = procstat.tree_rss_bytes(pids) or 0
    main_peak = procstat.rss_bytes(pid) or 0
    while time.monotonic_ns() < tl.measure_end:
        time.sleep(min(0.2, max(0.0, (tl.measure_end - time.monotonic_ns()) / 1e9)))
        peak = max(peak, procstat.tree_rss_bytes(pids) or 0)
        main_peak = max(main_peak, procstat.rss_bytes(pid) or 0)
    cpu1 = procstat.tree_cpu_seconds(pids)
    main1 = procstat.cpu_seconds(pid)
    seconds = (time.monotonic_ns() - t0) / 1e9
    out: dict[str, Any] = {
        "server_rss_mb": _mb(peak) if peak else None,
        "server_main_rss_mb": _mb(main_peak) if main_peak else None,
        "server_pid": pid,
        "server_procs": len(pids),
        "machine_cpu_pct": procstat.busy_pct(machine0, procstat.cpu_busy_ticks()),
    }
    if cpu0 is not None and cpu1 is not None:
        out["server_cpu_pct"] = round((cpu1 - cpu0) / seconds * 100, 1)
    if main0 is not None and main1 is not None:
        out["server_main_cpu_pct"] = round((main1 - main0) / seconds * 100, 1)
    return out


def _setup_summary(setups: list[SetupReport], sc: Scenario) -> dict[str, Any]:
    errors: dict[str, int] = {}
    for s in setups:
        for k, v in s.errors.items():
            errors[k] = errors.get(k, 0) + v
    registered = sum(s.registered for s in setups)
    first = min((s.first_connect_ns for s in setups if s.first_connect_ns), default=0)
    last = max((s.last_registered_ns for s in setups), default=0)
    span = (last - first) / 1e9 if registered and last > first else 0.0
    reg = percentiles_ms([n for s in setups for n in s.registration_ns])
    return {
        "registered": registered,
        "joined": sum(s.joined for s in setups),
        "failed": sum(s.failed for s in setups),
        "refused": sum(s.refused for s in setups),
        "registrations_per_s": round(registered / span, 1) if span else None,
        "registration_span_s": round(span, 3),
        "registration_latency": reg,
        "setup_errors": errors,
    }


def _run_summary(
    runs: list[RunReport], setups: list[SetupReport], sc: Scenario, echo: bool
) -> dict[str, Any]:
    joined: dict[str, int] = {}
    for s in setups:
        for ch, n in s.joined_by_channel.items():
            joined[ch] = joined.get(ch, 0) + n
    sent_by_channel: dict[str, int] = {}
    for r in runs:
        for ch, n in r.sent_by_channel.items():
            sent_by_channel[ch] = sent_by_channel.get(ch, 0) + n
    # Every message should reach every other member (and the sender too if it echoes).
    expected = sum(n * (joined.get(ch, 0) - 1 + int(echo)) for ch, n in sent_by_channel.items())
    received = sum(r.received_total for r in runs)
    latency = percentiles_ms(merge(r.latency_ns for r in runs))
    errors: dict[str, int] = {}
    for r in runs:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    duration = sc.duration or 1.0
    out: dict[str, Any] = {
        "messages_sent": sum(r.sent_total for r in runs),
        "messages_per_s": round(sum(r.sent_in_window for r in runs) / duration, 1),
        "deliveries_per_s": round(sum(r.received_in_window for r in runs) / duration, 1),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "lost": expected - received if sc.mode != "none" else 0,
        "latency": latency,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "disconnected": sum(r.disconnected for r in runs),
        "stalls": sum(r.stalls for r in runs),
        "max_send_lag_ms": round(max((r.max_send_lag_ns for r in runs), default=0) / 1e6, 3),
        # Relative to one core; near 100 per pinned core means the generator was the limit.
        "loadgen_cpu_pct": round(sum(r.cpu_s for r in runs) / duration * 100, 1),
        "run_errors": errors,
    }
    return out
