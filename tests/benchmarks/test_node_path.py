"""benchmarks.node_path measures a path that delivers: every line reaches n1's two
other members and, through the frames, n2's three."""

from __future__ import annotations

from pathlib import Path

from benchmarks.node_path import Pair


def test_every_line_reaches_both_nodes_members(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    frames = pair.origin(150)
    assert len(frames) == 2  # one per 100 lines, and the rest
    assert pair.delivered == 2 * 150
    pair.remote(pair.as_remote(frames))
    assert pair.delivered == 5 * 150
