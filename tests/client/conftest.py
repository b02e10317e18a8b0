from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NGIRCD_CONF = """\
[Global]
Name = ngircd.test
Info = ircish interoperability test
Listen = 127.0.0.1
Ports = {port}
PidFile = {dir}/ngircd.pid
MotdPhrase = "ngircd for ircish tests"
[Limits]
MaxConnectionsIP = 0
[Options]
PAM = no
Ident = no
DNS = no
[Channel]
Name = #lobby
Topic = the ngircd lobby
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[int]:
    """A private ngircd on a loopback port; yields the port."""
    binary = shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if Path(p).exists()), None
    )
    if binary is None:
        pytest.skip("ngircd is not installed (apt-get install ngircd); .ci/run installs it")
    port = free_port()
    conf = tmp_path / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port, dir=tmp_path))
    log = (tmp_path / "ngircd.log").open("w")
    process = subprocess.Popen([binary, "-n", "-f", str(conf)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.skip(f"ngircd exited at start: {(tmp_path / 'ngircd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip("ngircd did not start listening within 10s")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
