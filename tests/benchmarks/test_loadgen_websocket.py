"""The load generator's WebSocket mode: its framing, and a short fan-out run
against a started ircish's WebSocket listener."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.coordinator import run_scenario  # noqa: E402
from benchmarks.scenarios import SCENARIOS  # noqa: E402
from benchmarks.servers import LaunchedServer  # noqa: E402
from benchmarks.worker import ws_frames, ws_lines  # noqa: E402


def test_frames_are_read_by_a_websocket_server_one_line_each() -> None:
    server = Connection(ConnectionType.SERVER)
    long = "PRIVMSG #c :" + "x" * 300
    server.receive_data(ws_frames(f"NICK a\r\n{long}\r\n".encode()))
    got = [e.data for e in server.events() if isinstance(e, TextMessage)]
    assert got == ["NICK a", long]


def test_server_frames_become_lines_and_a_cut_frame_waits() -> None:
    server = Connection(ConnectionType.SERVER)
    wire = b"".join(server.send(TextMessage(data=t)) for t in ("PING x", "y" * 200, "last"))
    lines, rest = ws_lines(wire[:-2])
    assert lines == b"PING x\r\n" + b"y" * 200 + b"\r\n" and rest == wire[-6:-2]
    lines, rest = ws_lines(rest + wire[-2:])
    assert lines == b"last\r\n" and rest == b""


@pytest.mark.slow
def test_fanout_over_websocket_delivers_everything() -> None:
    sc = dataclasses.replace(
        SCENARIOS["fanout"], clients=5, senders=2, duration=0.6, warmup=0.1, drain=0.4
    )
    with LaunchedServer("ircish", cpus="", ircish_storage=False, websocket=True) as target:
        result = run_scenario(sc, target, procs=1, cpus=(), transport="websocket")
    assert result["params"]["transport"] == "websocket"
    assert result["registered"] == 5 and result["failed"] == 0
    assert result["deliveries_per_s"] > 0
    assert result["lost"] == 0 and result["stalls"] == 0
