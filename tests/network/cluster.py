"""A PostgreSQL cluster of the test's own (``.ci/postgres``), which the test may stop
and start again on the same port: the shared one of ``IRCISH_TEST_POSTGRES_URL``
must not be restarted under other tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "postgres"


def _bindir() -> Path | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "pg_ctl").exists():
            return Path(out.stdout.strip())
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class Cluster:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            pytest.skip("no pg_ctl here (Debian: apt-get install postgresql)")
        self.pg_ctl = str(bindir / "pg_ctl")
        result = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"no private PostgreSQL cluster: {result.stderr.strip()}")
        folder, self.url = result.stdout.split()
        self.folder = Path(folder)
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def _as_owner(self, *args: str) -> None:
        # .ci/postgres runs the cluster as `postgres` when we are root (initdb refuses root).
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop_server(self) -> None:
        """A fast shutdown: every session is terminated, as in a restart."""
        self._as_owner(self.pg_ctl, "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        self._as_owner(
            self.pg_ctl, "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
            "-w", "-t", "30", "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")

    def destroy(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.folder)], capture_output=True)
