"""What the storm benchmarks (OPER, login) share: ircish as a child process on a
free loopback port, and a minimal reader of IRC lines over a Trio stream."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

from benchmarks.servers import free_port, stop_process


class ChildServer:
    """``with ChildServer(repo, "0", "bench-x-", write) as srv:`` runs ircish from
    ``repo``, pinned with taskset, with the config ``write(work, port)`` returns."""

    def __init__(self, repo: Path, cpus: str, prefix: str,
                 write_config: Callable[[Path, int], Path], ready_s: float = 30.0,
                 stop_s: float = 10.0) -> None:
        self.repo = repo
        self.cpus = cpus
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.work = Path(self._tmp.name)
        self.port = free_port()
        self._write_config = write_config
        self.ready_s = ready_s
        self.stop_s = stop_s
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ChildServer:
        config = self._write_config(self.work, self.port)
        code = "import sys; from ircish.cli import server_main; sys.exit(server_main())"
        cmd = [sys.executable, "-c", code, "--config", str(config)]
        if self.cpus and shutil.which("taskset"):
            cmd = ["taskset", "-c", self.cpus, *cmd]
        # PYTHONPATH first: the tree measured is ``repo``, not the editable install.
        env = {**os.environ, "PYTHONPATH": str(self.repo)}
        with (self.work / "server.log").open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.work, env=env)
        deadline = time.monotonic() + self.ready_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited at start:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"server did not listen within {self.ready_s:.0f} s")

    def log_tail(self, lines: int = 20) -> str:
        text = (self.work / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc, self.stop_s)
        self._tmp.cleanup()


class Lines:
    """Minimal line reader over a Trio stream; the storms only need verbs."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = b""

    async def lines(self) -> list[bytes]:
        """The complete lines of the next read; [] at EOF."""
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                return []
            self.buf += data
            if b"\n" in self.buf:
                *done, self.buf = self.buf.split(b"\n")
                return [line.rstrip(b"\r") for line in done]

    async def until(self, want: set[bytes]) -> bytes:
        """The first line whose verb is in ``want``."""
        while True:
            lines = await self.lines()
            if not lines:
                raise RuntimeError("closed")
            for line in lines:
                if verb(line) in want:
                    return line


def verb(line: bytes) -> bytes:
    parts = line.split(b" ")
    if parts and parts[0].startswith(b"@"):
        parts = parts[1:]
    if parts and parts[0].startswith(b":"):
        parts = parts[1:]
    return parts[0] if parts else b""
