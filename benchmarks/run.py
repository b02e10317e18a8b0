"""Command line: ``python -m benchmarks.run [options] SCENARIO...``

Examples::

    python -m benchmarks.run --server relay fanout
    python -m benchmarks.run --server ircish all --json results.json
    python -m benchmarks.run --compare ircish,ngircd,inspircd fanout bigchannel
    python -m benchmarks.run --host 127.0.0.1 --port 6667 --clients 50 manychannels
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.coordinator import BenchmarkError, TargetServer, run_scenario
from benchmarks.procstat import find_listening_pid
from benchmarks.report import check_targets, comparison, markdown, summary
from benchmarks.runlock import exclusive_run
from benchmarks.scenarios import SCENARIOS, Scenario
from benchmarks.servers import KINDS, LaunchedServer

# Command-line flags that override a scenario field of the same name.
_OVERRIDES = (
    ("mode", str, "closed | open | none"),
    ("clients", int, "number of clients"),
    ("channels", int, "number of channels (clients spread round-robin)"),
    ("senders", int, "number of sending clients"),
    ("rate", float, "open loop: total messages per second over all senders"),
    ("window", int, "closed loop: outstanding messages per sender"),
    ("duration", float, "measured seconds"),
    ("warmup", float, "seconds of load before measuring"),
    ("drain", float, "seconds to wait for messages still in flight after sending stops"),
    ("setup_concurrency", int, "registrations in flight per process (0 = all at once)"),
    ("padding", int, "extra bytes per message"),
    ("sample_clients", int, "clients read at once and sampled for latency (0 = all)"),
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="IRC load generator: " + ", ".join(SCENARIOS) + " (or all).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(f"  {s.name:13} {s.summary}" for s in SCENARIOS.values()),
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--server", choices=KINDS, help="start this server for the run")
    where.add_argument(
        "--compare", metavar="K1,K2,...", help="run each scenario against each of these servers"
    )
    where.add_argument("--host", help="an already running server (loopback only)")
    p.add_argument("--port", type=int, default=6667)
    p.add_argument("--server-pid", type=int, help="pid to read CPU/RSS from (else found by port)")
    p.add_argument(
        "--procs",
        type=int,
        help="load generator processes (default: one per load generator CPU); more processes "
        "than CPUs only add scheduling delay to the measured latency",
    )
    p.add_argument(
        "--loadgen-cpus", help="CPUs for the generator, e.g. 1 or 1-3 (default: all but 0)"
    )
    p.add_argument("--server-cpus", default="0", help="CPUs for a started server (default 0)")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness for the generator and a started server, e.g. -10 as root on a shared "
        "machine, so other processes' time slices stay out of the latencies",
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="run the generator's workers SCHED_FIFO (root), so a busy neighbour on their "
        "core cannot delay their reads; the server is left alone",
    )
    p.add_argument(
        "--ircish-storage",
        choices=("sqlite", "none"),
        default="sqlite",
        help="history store of a started ircish (default sqlite in the temp dir)",
    )
    p.add_argument(
        "--ircish-tree",
        type=Path,
        default=None,
        help="run a started ircish from this checkout (e.g. a `git worktree` of an older "
        "commit) instead of this one; the generator stays this tree's",
    )
    p.add_argument(
        "--transport",
        choices=("tcp", "websocket"),
        default="tcp",
        help="the clients' transport: IRC over TCP, or over WebSocket (text.ircv3.net) to a "
        "started ircish's [websocket] listener (with --host: --port is the WebSocket port)",
    )
    p.add_argument(
        "--latency-all-lines",
        action="store_true",
        default=None,
        help="parse every delivered line for latency, not a sample",
    )
    for name, kind, text in _OVERRIDES:
        p.add_argument("--" + name.replace("_", "-"), type=kind, help=text)
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=900.0,
        help="seconds to wait for another benchmark run on this machine to finish",
    )
    p.add_argument("--markdown", metavar="PATH", help="also write markdown tables (RESULTS.md)")
    p.add_argument("--json", metavar="PATH", help="also write results as JSON ('-' = stdout)")
    p.add_argument(
        "--check", action="store_true", help="exit 1 when a scenario misses one of its targets"
    )
    return p


def _cpus(text: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(out)


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}, all")
    changes: dict[str, Any] = {
        name: getattr(args, name) for name, _, _ in _OVERRIDES if getattr(args, name) is not None
    }
    if args.latency_all_lines is not None:
        changes["latency_all_lines"] = True
    return [dataclasses.replace(SCENARIOS[n], **changes) for n in names]


def _loadgen_cpus(args: argparse.Namespace, launched: bool) -> tuple[int, ...]:
    if args.loadgen_cpus:
        return _cpus(args.loadgen_cpus)
    server = set(_cpus(args.server_cpus)) if launched else set()
    rest = tuple(c for c in sorted(os.sched_getaffinity(0)) if c not in server)
    return rest or tuple(sorted(os.sched_getaffinity(0)))


def _tree_version(other: Path | None = None) -> str:
    """HEAD of the repository and whether the tree differs from it: the tree is shared
    and changes under a long run, so every result says which code it measured."""
    root = str(other) if other else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "ircish"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head}{'+dirty' if dirty else ''}" if head else "unknown"


def _one(sc: Scenario, kind: str | None, args: argparse.Namespace) -> dict[str, Any]:
    if kind is None:
        if args.host not in ("127.0.0.1", "localhost", "::1") and not args.host.startswith("127."):
            raise SystemExit("--host must be a loopback address: this generator is for local tests")
        pid = args.server_pid or find_listening_pid(args.port)
        target = TargetServer(args.host, args.port, pid, f"{args.host}:{args.port}",
                              ws_port=args.port)
        cpus = _loadgen_cpus(args, False)
        return run_scenario(sc, target, args.procs or len(cpus), cpus, args.nice, args.realtime,
                            args.transport)
    storage = args.ircish_storage == "sqlite"
    with LaunchedServer(
        kind,
        cpus=args.server_cpus,
        ircish_storage=storage,
        nice=args.nice,
        ircish_tree=args.ircish_tree,
        websocket=args.transport == "websocket",
    ) as target:
        cpus = _loadgen_cpus(args, True)
        result = run_scenario(sc, target, args.procs or len(cpus), cpus, args.nice, args.realtime,
                              args.transport)
    result["params"]["server_cpus"] = list(_cpus(args.server_cpus))
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scenarios = _scenarios(args)
    if args.compare:
        kinds: list[str | None] = [k.strip() for k in args.compare.split(",") if k.strip()]
    elif args.server:
        kinds = [args.server]
    elif args.host:
        kinds = [None]
    else:
        raise SystemExit("say where: --server KIND, --compare K1,K2 or --host/--port")
    quiet = args.json == "-"
    results: list[dict[str, Any]] = []
    for sc in scenarios:
        for kind in kinds:
            try:
                with exclusive_run(args.lock_timeout, f"{sc.name} on {kind or args.host}") as alone:
                    tree = _tree_version(args.ircish_tree)
                    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    result = _one(sc, kind, args)
                result["alone"] = alone
                result["params"]["ircish_tree"] = tree
                result["params"]["started_at"] = started
            except BenchmarkError as exc:
                result = {"scenario": sc.name, "server": kind or args.host, "error": str(exc)}
                print(f"== {sc.name} on {result['server']}: ERROR {exc}", file=sys.stderr)
            else:
                if not quiet:
                    print(summary(result), flush=True)
            results.append(result)
    ok = [r for r in results if "error" not in r]
    if len(kinds) > 1 and not quiet:
        print(comparison(ok))
    if args.json:
        text = json.dumps(results, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(results) + "\n")
    missed = any(v is False for r in ok for _, _, v in check_targets(r))
    if len(ok) < len(results):
        return 2
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
