"""Instructions a plain server spends on one channel line, sockets and Trio included
(``benchmarks.line_callgrind``).

A server with no storage and no network runs under ``valgrind --tool=callgrind``
from the tree on ``PYTHONPATH``; three clients join ``#bench``; one sends N lines,
one per packet, 100 a second, so each line is a wake-up of its own (the reader's
receive, the core, the outbox's flush to two members: what a node does per line
at its usual load) while the other two read. The counters are zeroed after the
setup and dumped once every line has arrived, so the count is the traffic's.
Unlike CPU seconds it hardly depends on other load (what does: how the loop's
wake-ups fall, a few % between runs, so compare trees in interleaved runs)::

    PYTHONPATH=<tree> python -m benchmarks.line_callgrind 1000
"""

from __future__ import annotations

import argparse
import glob
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARK = b" PRIVMSG #bench :"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _join(port: int, nick: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #bench\r\n".encode())
    seen = b""
    while b" 366 " not in seen:
        seen += sock.recv(65536)
    return sock


def _drain(readers: list[socket.socket], got: list[int]) -> None:
    for i, reader in enumerate(readers):
        try:
            while data := reader.recv(1 << 20):
                got[i] += data.count(MARK)
        except BlockingIOError:
            pass


def run(lines: int) -> int:
    folder = Path(tempfile.mkdtemp(prefix="ircish-line-cg-"))
    port = _free_port()
    config = folder / "server.toml"
    config.write_text(
        f'[server]\nname = "cg.test"\nlisten = ["127.0.0.1:{port}"]\n'
        '[channels]\nauto_join = []\n'
        '[limits]\nflood_burst = 1000000\nflood_rate = 1000000.0\n'
        'flood_excess = 100000000\nclients_per_ip = 1000\n'
        '[storage]\nurl = ""\n')
    out = folder / "callgrind.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
         "import sys; from ircish.cli import server_main; sys.exit(server_main())",
         "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("the server did not start under valgrind", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        sender, *readers = (_join(port, nick) for nick in ("sender", "r1", "r2"))
        for reader in readers:
            reader.setblocking(False)
        time.sleep(2)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        got = [0, 0]
        for k in range(lines):
            sender.sendall(f"PRIVMSG #bench :0 {k}\r\n".encode())
            time.sleep(0.01)
            _drain(readers, got)
        while min(got) < lines:
            time.sleep(0.05)
            _drain(readers, got)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait(60)
    # The dump asked for is the first numbered file; the one written at exit is not.
    dump = sorted(glob.glob(f"{out}.*"))[0]
    with open(dump) as f:
        total = next(int(line.split()[1]) for line in f
                     if line.startswith(("summary:", "totals:")))
    print(f"lines={lines} instructions/line={total // lines}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lines", type=int, nargs="?", default=1000)
    return run(parser.parse_args().lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
