"""The network benchmark's senders, in a process of their own (``benchmarks.network_bench``).

    python -m benchmarks.paced_senders RATE DURATION START INDEX:FD [INDEX:FD ...]

Each FD is a registered client's socket (inherited), joined to ``#bench``. From
``START`` (a ``time.perf_counter`` value: CLOCK_MONOTONIC, the same clock in
every process of the machine) every socket gets ``RATE / len(FDs)`` lines a
second for ``DURATION`` seconds, ``PRIVMSG #bench :INDEX SEQ DUE``, each line
written when it is due. All senders share one schedule, so the lines due at one
moment go out together, a write to each socket; one that falls behind sends
every line due so far in one write, and ``DUE`` is when a line was due, so a
lag shows as latency, never as a lower rate.

One plain thread with ``time.sleep`` and ``send``: the same load as an event loop
task per sender, for a fraction of the CPU (the benchmark shares the machine's
two cores with the nodes and PostgreSQL it measures; with a Trio task per sender
it used ~0.3 of a core at 10,000 lines/s).

Prints ``{"sent": [...], "lag_s": ...}`` (lines per sender, in the order given,
and the worst lag behind the schedule) on one line, then waits for its standard
input to close before it exits, so its parent can read its CPU time first.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time


def _send_all(sock: socket.socket, data: bytes) -> None:
    # The socket is shared with the parent, whose event loop made it non-blocking.
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            select.select([], [sock], [])


def run(rate: float, duration: float, start: float, senders: list[tuple[int, socket.socket]]
        ) -> dict[str, object]:
    per_sender = rate / len(senders)
    last = int(duration * per_sender)
    seq = 0
    lag = 0.0
    delay = start - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    while True:
        now = time.perf_counter()
        if now - start >= duration:
            break
        due = min(int((now - start) * per_sender) + 1, last)
        if due > seq:
            lag = max(lag, now - (start + seq / per_sender))
            for index, sock in senders:
                _send_all(sock, b"".join(
                    b"PRIVMSG #bench :%d %d %.6f\r\n" % (index, n, start + n / per_sender)
                    for n in range(seq, due)))
            seq = due
        delay = start + seq / per_sender - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return {"sent": [seq] * len(senders), "lag_s": lag}


def main(argv: list[str]) -> int:
    rate, duration, start = float(argv[0]), float(argv[1]), float(argv[2])
    senders = []
    for spec in argv[3:]:
        index, _, fd = spec.partition(":")
        senders.append((int(index), socket.socket(fileno=int(fd))))
    result = run(rate, duration, start, senders)
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # until the parent has read this process's CPU time
    for _, sock in senders:
        sock.detach()  # the parent closes its clients itself
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
