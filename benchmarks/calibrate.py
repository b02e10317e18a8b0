"""How fast this machine runs the server's kind of Python right now
(``benchmarks.calibrate``).

This machine's speed is not a constant: the same tree's ``node_path`` origin work,
18.9 µs a line one afternoon, took 34 to 43 µs another (RESULTS.md section 27), with no
steal time reported, other load on the host being invisible from inside. A latency
or a CPU figure means little without the speed it was measured at, so the
benchmarks that compare runs across sessions print this first: the CPU µs this
process needs to parse and re-serialise one channel line with tags
(``ircish.protocol``), the best of ten rounds of ~30 ms (lower is faster).

    python -m benchmarks.calibrate
"""

from __future__ import annotations

import time

from ircish.protocol.message import format_line, parse

_LINES = [f"@time=2026-12-03T15:00:{k % 60:02d}.000Z;msgid=m{k:08d} :send{k % 7}!u@127.0.0.1"
          f" PRIVMSG #bench :{k % 7} {k} 1764774000.{k:06d}" for k in range(500)]


def line_us(rounds: int = 10, repeat: int = 8) -> float:
    """CPU µs a line: each round parses and formats the 500 lines ``repeat`` times;
    the fastest round counts (a round that a neighbour slowed is the outlier)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            for text in _LINES:
                msg = parse(text)
                format_line(msg.command, msg.params, msg.source, msg.tags)
        best = min(best, time.process_time() - start)
    return 1e6 * best / (repeat * len(_LINES))


def describe() -> str:
    return f"machine speed: {line_us():.2f} CPU µs to parse and format a line (lower is faster)"


if __name__ == "__main__":
    print(describe())
