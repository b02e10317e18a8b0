"""The load generator against the trivial relay: a few clients for under a second.

Checks the whole path (worker processes, registration, closed loop, bulk counting,
lost-message accounting) end to end, so a broken generator is caught before anyone
trusts its numbers about the server.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run as a script does not put the repo root there
    sys.path.insert(0, str(ROOT))

from benchmarks.coordinator import TargetServer, run_scenario  # noqa: E402
from benchmarks.scenarios import SCENARIOS  # noqa: E402


@pytest.fixture
def relay() -> Iterator[TargetServer]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.trivial_relay", "--port", "0", "--lifetime", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline().split()
        assert banner[:1] == ["LISTENING"], banner
        yield TargetServer(banner[1], int(banner[2]), proc.pid, "relay")
    finally:
        proc.terminate()
        proc.wait(10)


def test_fanout_closed_loop_delivers_everything(relay: TargetServer) -> None:
    sc = dataclasses.replace(
        SCENARIOS["fanout"], clients=5, senders=2, duration=0.6, warmup=0.1, drain=0.4
    )
    result = run_scenario(sc, relay, procs=1, cpus=())
    assert result["registered"] == 5
    assert result["failed"] == 0
    assert result["deliveries_per_s"] > 0
    assert result["lost"] == 0
    assert result["latency"]["count"] > 0
    assert result["stalls"] == 0


def test_open_loop_over_two_processes(relay: TargetServer) -> None:
    sc = dataclasses.replace(
        SCENARIOS["manychannels"],
        clients=6,
        channels=2,
        senders=6,
        rate=60.0,
        duration=0.6,
        warmup=0.1,
        drain=0.4,
    )
    result = run_scenario(sc, relay, procs=2, cpus=())
    assert result["joined"] == 6
    assert result["messages_sent"] > 0
    # Each message reaches the other two members of its channel.
    assert result["deliveries_expected"] == result["messages_sent"] * 2
    assert result["lost"] == 0
