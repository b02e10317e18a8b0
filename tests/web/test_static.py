"""The web client's files on the WebSocket listener: only its folder, with strict headers."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ircish.testing import start_server
from ircish.web import static
from tests.web.wsclient import ws_port

WS = {"websocket": {"listen": ["127.0.0.1:0"]}}


async def http_get(port: int, target: str, method: str = "GET",
                   host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    answer = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!DOCTYPE html><title>web</title>")
    (root / "js" / "app.js").write_text("console.log(1);")
    (root / "style.css").write_text("body{}")
    (root / ".hidden").write_text("secret")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("/", True),
        ("/index.html", True),
        ("/js/app.js", True),
        ("/js/app.js?v=3", True),
        ("/../secret.txt", False),
        ("/js/../../secret.txt", False),
        ("/%2e%2e/secret.txt", False),
        ("/..%2fsecret.txt", False),
        ("/js%2f..%2f..%2fsecret.txt", False),
        ("/.hidden", False),
        ("/link.txt", False),  # a symbolic link out of the folder
        ("/js", False),  # a folder
        ("//etc/passwd", False),
        ("/%00", False),
        ("/%ff", False),
        ("/js\\..\\..\\secret.txt", False),
        ("relative", False),
    ],
)
def test_only_files_inside_the_folder_resolve(site: Path, target: str, ok: bool) -> None:
    found = static.resolve(target, site)
    assert (found is not None) == ok
    if found is not None:
        assert found.is_relative_to(site.resolve())


async def test_files_come_with_their_type_and_a_strict_policy(tmp_path: Path, site: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        srv.owner("websocket").static_dir = site
        port = ws_port(srv)
        for target, kind, body in (("/", "text/html", b"<!DOCTYPE html><title>web</title>"),
                                   ("/js/app.js", "text/javascript", b"console.log(1);"),
                                   ("/style.css", "text/css", b"body{}")):
            status, headers, got = await http_get(port, target)
            assert status == 200 and got == body
            assert headers["content-type"].startswith(kind)
            policy = headers["content-security-policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert "'unsafe-inline'" not in policy
            assert f"connect-src 'self' ws://127.0.0.1:{port} wss://127.0.0.1:{port}" in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cache-control"] == "no-cache"
        status, headers, got = await http_get(port, "/js/app.js", method="HEAD")
        assert status == 200 and got == b"" and headers["content-length"] == "15"


async def test_traversal_over_http_finds_nothing(tmp_path: Path, site: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        srv.owner("websocket").static_dir = site
        port = ws_port(srv)
        for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/link.txt", "/.hidden",
                       "/js/%2e%2e/%2e%2e/secret.txt"):
            status, headers, body = await http_get(port, target)
            assert status == 404, target
            assert b"outside" not in body and b"secret" not in body
            assert headers["x-content-type-options"] == "nosniff"


async def test_a_hostile_host_header_stays_out_of_the_policy(tmp_path: Path, site: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        srv.owner("websocket").static_dir = site
        status, headers, _ = await http_get(ws_port(srv), "/", host="x; script-src *")
        assert status == 200
        assert "script-src *" not in headers["content-security-policy"]


async def test_without_the_web_client_the_page_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    async with start_server(tmp_path, WS) as srv:
        srv.owner("websocket").static_dir = empty
        status, headers, body = await http_get(ws_port(srv), "/")
        assert status == 404 and b"web client is not installed" in body
        assert headers["content-type"].startswith("text/html")


async def test_the_shipped_client_is_served(tmp_path: Path) -> None:
    if not (static.STATIC_DIR / "index.html").is_file():
        pytest.skip("the web client's index.html is not in ircish/web/static")
    async with start_server(tmp_path, WS) as srv:
        status, headers, body = await http_get(ws_port(srv), "/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        assert body == (static.STATIC_DIR / "index.html").read_bytes()


async def test_other_methods_get_405(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        port = ws_port(srv)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 405 ")
        assert b"allow: GET, HEAD" in answer.lower().replace(b"get, head", b"GET, HEAD")
