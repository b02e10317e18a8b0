"""The web listener: IRC over WebSocket and the web client's files, on ``[websocket] listen``.

Each accepted socket gets ``handshake_timeout`` seconds for TLS (``tls =
true``) and one HTTP request. An upgrade request whose Origin is allowed
becomes a ``WebSocketStream`` handed to ``IrcServer.serve_client``: from there
on it is an ordinary client (admission, bans, limits, fakelag, sendQ, history,
plugins), known by its peer's address or, behind a trusted proxy, by the one
X-Forwarded-For names. Any other GET or HEAD is a file of the web client.
"""

from __future__ import annotations

import errno
import logging
import ssl
from typing import TYPE_CHECKING

import trio
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.utilities import generate_accept_token

from ircish.config import ConfigError, parse_address
from ircish.core.extension import Extension
from ircish.net import clientcert
from ircish.net.app import BoundAddress, accept_patiently
from ircish.protocol.framing import CLIENT_TAGS_MAX
from ircish.web import handshake, static
from ircish.web.http import BadRequest, HttpExchange, Request
from ircish.web.websocket import WebSocketStream

if TYPE_CHECKING:
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish.web")

_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class WebListener:
    """The feature's owner: its bound addresses, for tests and the start log."""

    def __init__(self, app: IrcServer) -> None:
        self.app = app
        self.tls = app.config.websocket.tls
        self.addresses: list[BoundAddress] = []
        # The web client's folder (tests point it elsewhere).
        self.static_dir = static.STATIC_DIR
        self._context: ssl.SSLContext | None = None

    # ---- the service ------------------------------------------------------------

    async def run(
        self, app: IrcServer, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        listeners = await self._open()
        if self.tls and app.ssl_context is None:
            self._context = app._ssl_context(app.config)
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener, nursery)
            for bound in self.addresses:
                host = f"[{bound.host}]" if ":" in bound.host else bound.host
                log.info("web client and WebSocket on %s://%s:%d/",
                         "https" if bound.tls else "http", host, bound.port)
            task_status.started()

    async def _open(self) -> list[trio.SocketListener]:
        cfg = self.app.config
        opened: list[trio.SocketListener] = []
        for text in cfg.websocket.listen:
            host, port = parse_address(text)
            try:
                found = await trio.open_tcp_listeners(port, host=host)
            except OSError as exc:
                reason = "address already in use" if exc.errno == errno.EADDRINUSE \
                    else exc.strerror or str(exc)
                raise ConfigError(cfg.path, "websocket.listen",
                                  f"cannot listen on {text}: {reason}") from exc
            for listener in found:
                bound_host, bound_port = listener.socket.getsockname()[:2]
                self.addresses.append(BoundAddress(bound_host, bound_port, self.tls))
                opened.append(listener)
        return opened

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        async with listener:
            while True:
                stream = await accept_patiently(listener)
                nursery.start_soon(self._handle, stream)

    # ---- one socket -------------------------------------------------------------

    async def _handle(self, stream: trio.SocketStream) -> None:
        try:
            peer = stream.socket.getpeername()[0]
        except OSError:
            await trio.aclose_forcefully(stream)
            return
        client = None
        try:
            client = await self._exchange(stream, peer)
        except _BROKEN:
            pass
        except Exception:
            log.exception("web request from %s failed", peer)
        if client is None:
            await trio.aclose_forcefully(stream)
            return
        # Served from here, where nothing of the handshake (h11's state, the
        # request) is still held: an idle client costs only its connection.
        ws, ip, certfp = client
        await self.app.serve_client(ws, ip, self.tls, kind="WebSocket", certfp=certfp)

    async def _exchange(
        self, stream: trio.SocketStream, peer: str
    ) -> tuple[WebSocketStream, str, str | None] | None:
        """The handshake and its answer; a WebSocket client's stream, address and
        certificate fingerprint once it is upgraded, else None (answered)."""
        cfg = self.app.config.websocket
        transport: trio.abc.Stream = stream
        certfp = None
        http = HttpExchange(transport)
        request: Request | None = None
        with trio.move_on_after(cfg.handshake_timeout) as timer:
            if self.tls:
                context = self.app.ssl_context or self._context
                assert context is not None
                ssl_stream = trio.SSLStream(stream, context, server_side=True,
                                            https_compatible=True)
                transport = ssl_stream
                await ssl_stream.do_handshake()
                certfp = clientcert.fingerprint(ssl_stream)
                http = HttpExchange(transport)
            try:
                request = await http.read_request()
            except BadRequest as exc:
                log.info("bad HTTP request from %s: %s", peer, exc)
                await http.respond_text(400, f"Bad request: {exc}")
                await trio.aclose_forcefully(transport)
                return None
        if timer.cancelled_caught:
            log.info("web handshake from %s timed out after %gs", peer, cfg.handshake_timeout)
            await trio.aclose_forcefully(transport)
            return None
        if request is None:
            await trio.aclose_forcefully(transport)
            return None
        if handshake.is_upgrade(request):
            return await self._upgrade(http, transport, request, peer, certfp)
        await self._serve_file(http, request)
        await trio.aclose_forcefully(transport)
        return None

    async def _upgrade(
        self, http: HttpExchange, transport: trio.abc.Stream, request: Request, peer: str,
        certfp: str | None,
    ) -> tuple[WebSocketStream, str, str | None] | None:
        cfg = self.app.config.websocket
        refusal = handshake.check_upgrade(request)
        origin = request.header(b"origin")
        if refusal is None and not handshake.origin_allowed(
            origin, request.header(b"host"), self.tls, cfg.allowed_origins
        ):
            refusal = handshake.Refusal(
                403, f"Origin {origin} may not connect here ([websocket] allowed_origins)")
        if refusal is not None:
            log.info("WebSocket handshake from %s refused (%d): %s", peer, refusal.status,
                     refusal.reason)
            await http.respond_text(refusal.status, refusal.reason, list(refusal.headers))
            await trio.aclose_forcefully(transport)
            return None
        subprotocol = handshake.choose_subprotocol(
            request.header_values(b"sec-websocket-protocol"))
        key = (request.header(b"sec-websocket-key") or "").strip()
        headers = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", generate_accept_token(key.encode("ascii"))),
        ]
        if subprotocol is not None:
            headers.append((b"sec-websocket-protocol", subprotocol.encode("ascii")))
        await http.switch(headers)
        ip = handshake.client_address(peer, request,
                                      handshake.trusted_networks(cfg.trusted_proxies))
        limits = self.app.config.limits
        # One byte past the most a line may hold with its tags: the framer then
        # answers 417 for a longer message, as for a TCP client's line.
        longest = limits.line_length - 2 + min(limits.tags_length, CLIENT_TAGS_MAX) + 2
        ws = WebSocketStream(transport, WsConnection(ConnectionType.SERVER), subprotocol,
                             longest, ip, trailing=http.trailing_data())
        if ip != peer:
            log.info("WebSocket from proxy %s for %s", peer, ip)
        return ws, ip, certfp

    async def _serve_file(self, http: HttpExchange, request: Request) -> None:
        head = request.method == "HEAD"
        if request.method not in ("GET", "HEAD"):
            await http.respond_text(405, f"{request.method} is not served here",
                                    [(b"allow", b"GET, HEAD")])
            return
        path = static.resolve(request.target, self.static_dir)
        headers = static.page_headers(request.header(b"host"))
        if path is None:
            if request.target.split("?", 1)[0] in ("/", "/index.html"):
                await http.respond(404, static.NOT_INSTALLED.encode(),
                                   b"text/html; charset=utf-8", headers, head_only=head)
                return
            await http.respond_text(404, "Not found", head_only=head)
            return
        try:
            body = await trio.to_thread.run_sync(path.read_bytes)
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc.strerror or exc)
            await http.respond_text(404, "Not found", head_only=head)
            return
        await http.respond(200, body, static.content_type(path), headers, head_only=head)


def websocket_feature(app: IrcServer) -> Extension:
    listener = WebListener(app)
    return Extension(name="websocket", services=(listener.run,), owner=listener)
