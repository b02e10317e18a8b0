"""``ircish-server mkcert``: a self-signed certificate for a first TLS listener.

The ``openssl`` command makes it: ``cryptography`` is not one of the server's
dependencies (only the test tools pull it in), and every Debian has openssl.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path


class MkcertError(Exception):
    """Why no certificate was made, phrased for the operator."""


def _alt_names(names: list[str]) -> str:
    entries = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            entries.append(f"DNS:{name}")
        else:
            entries.append(f"IP:{name}")
    return ",".join(entries)


def make_self_signed(
    directory: Path, names: list[str], *, days: int = 825, openssl: str = "openssl"
) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` (mode 0600) in ``directory``; never overwrite."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    for path in (cert, key):
        if path.exists():
            raise MkcertError(f"{path} exists; remove it first or choose another folder")
    program = shutil.which(openssl)
    if program is None:
        raise MkcertError(
            f"the {openssl!r} command is needed and was not found on PATH "
            "(on Debian: apt-get install openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [
        program, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-sha256", "-days", str(days), "-subj", f"/CN={names[0]}",
        "-addext", f"subjectAltName={_alt_names(names)}",
        "-keyout", str(key), "-out", str(cert),
    ]
    # The key is private from its first byte, not chmod-ed after the fact.
    old_umask = os.umask(0o077)
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        os.umask(old_umask)
    if result.returncode != 0:
        for path in (cert, key):
            path.unlink(missing_ok=True)
        detail = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise MkcertError(f"openssl failed (exit {result.returncode}): {detail[0]}")
    cert.chmod(0o644)
    return cert, key
