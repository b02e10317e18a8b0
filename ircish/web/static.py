"""The web client's files, served from the package's ``static`` folder and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".mjs": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".json": b"application/json",
    ".webmanifest": b"application/manifest+json",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
    ".txt": b"text/plain; charset=utf-8",
    ".woff2": b"font/woff2",
}

NOT_INSTALLED = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ircish</title></head>"
    "<body><p>The ircish web client is not installed with this server; connect with "
    "any IRC client, or over WebSocket to this address.</p></body></html>\n"
)

# A Host header fit to be written into the policy: a name or address and a port.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def resolve(target: str, root: Path = STATIC_DIR) -> Path | None:
    """The file a request target names inside ``root``, or None.

    ``/`` is ``index.html``. Dot segments, hidden names, backslashes and NUL are
    refused before the file system is asked, and what the path resolves to
    (symbolic links followed) must still be inside ``root``.
    """
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return None
    try:
        text = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text == "/":
        text = "/index.html"
    segments = text[1:].split("/")
    for segment in segments:
        if not segment or segment.startswith(".") or "\\" in segment or "\0" in segment:
            return None
    base = root.resolve()
    candidate = base.joinpath(*segments).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def content_type(path: Path) -> bytes:
    return CONTENT_TYPES.get(path.suffix.lower(), b"application/octet-stream")


def page_headers(host: str | None) -> list[tuple[bytes, bytes]]:
    """The policy for the client's pages: its own files only, no inline script,
    WebSocket to this same host, never inside a frame."""
    connect = "'self'"
    if host and _HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return [
        (b"content-security-policy", policy.encode("ascii")),
        # Revalidate each time: the client changes with the server it comes with.
        (b"cache-control", b"no-cache"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
