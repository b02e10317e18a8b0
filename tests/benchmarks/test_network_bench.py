"""benchmarks.network_bench on two real nodes: every sender's lines go out on the one
schedule, and every receiver gets every line."""

from __future__ import annotations

import pytest

from benchmarks import network_bench
from tests.store import postgres


async def test_two_nodes_deliver_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres.admin_url()
    status = await network_bench.run(url, nodes=2, senders=2, rate=300, duration=1.0,
                                     drain=20.0, quiet=5.0, server_limits=False)
    out = capsys.readouterr().out
    assert status == 0, out
    # 300/s for 1 s over four senders: 75 lines each, every one to both receivers.
    assert "sent 300 (300/s" in out, out
    assert "deliveries 600 of 600 (lost 0" in out, out
    assert "cross node n=   300" in out, out
