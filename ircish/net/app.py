"""The Trio shell around the core: listeners, connections, timers, shutdown.

``IrcServer.run`` owns one nursery for everything. Connections are accepted
under a cancel scope of their own so a graceful shutdown can stop accepting,
say goodbye to every client, give them a moment, and only then cancel.
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio

from ircish.config import Config, ConfigError, load_config, parse_address
from ircish.core import bans, events
from ircish.core.closing import closing_link
from ircish.core.extension import Extension, ShutdownStep, listens_for
from ircish.core.server import Server
from ircish.core.state import User
from ircish.core.tables import TableShrinker
from ircish.net import clientcert
from ircish.net.connection import Connection
from ircish.net.giveback import Giveback, glibc_trim
from ircish.net.offload import TrioOffload
from ircish.net.outbox import Outbox
from ircish.reload import merge_reload

log = logging.getLogger("ircish.net")

SHUTDOWN_GRACE = 2.0

# A feature (history, plugins, ...) is a function from the app it extends to the
# Extension it adds; ``ircish.app.build_server`` lists the ones a config asks for.
Feature = Callable[["IrcServer"], Extension]


# Out of descriptors or memory: the listener waits a moment and goes on.
_ACCEPT_PAUSES = (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS)


async def accept_patiently(listener: trio.SocketListener) -> trio.SocketStream:
    """The listener's next connection; running out of descriptors or memory is a
    log line and a pause, not the end of the listener."""
    while True:
        try:
            return await listener.accept()
        except OSError as exc:
            if exc.errno not in _ACCEPT_PAUSES:
                raise
            log.error("accept failed (%s); pausing new connections", exc.strerror)
            await trio.sleep(0.1)


@dataclass(frozen=True)
class BoundAddress:
    host: str
    port: int
    tls: bool


class IrcServer:
    def __init__(self, config: Config, features: Sequence[Feature] = ()) -> None:
        self.config = config
        self.event_listeners: tuple[Callable[[events.Event], None], ...] = ()
        # Per class of event, the listeners that act on it (extension.listens_to),
        # in the order of event_listeners; filled as each class is first emitted.
        self._listeners_by_kind: dict[type, tuple[Callable[[events.Event], None], ...]] = {}
        self.core = Server(config, emit=self._emit)
        self.outbox = Outbox(Connection)
        self.core.fanout = self.outbox.fanout
        self.offload = TrioOffload(self.core)
        self.core.offload = self.offload
        self.connections: set[Connection] = set()
        self.per_ip: Counter[str] = Counter()
        # The tables a crowd of clients grows; rebuilt smaller once it has left.
        core = self.core
        self.shrinker = TableShrinker({
            "users": lambda: core.users, "channels": lambda: core.channels,
            "core connections": lambda: core.connections,
            "connections": lambda: self.connections, "per_ip": lambda: self.per_ip,
            "monitor nicks": lambda: core.monitors.by_nick,
            "monitor lists": lambda: core.monitors.lists,
        })
        # And the memory its objects took, once it has gone (``giveback``).
        self.giveback = Giveback(glibc_trim())
        self._stop = trio.Event()
        self.stopped = trio.Event()
        self.nursery: trio.Nursery | None = None
        self.addresses: list[BoundAddress] = []
        # Read at each TLS accept, so a reload's certificate serves the next client.
        self.ssl_context: ssl.SSLContext | None = None
        self._reload_lock = trio.Lock()
        self.core.request_reload = self.request_reload
        # Everything beyond the core, in the order the features were given.
        self.extensions: dict[str, Extension] = {}
        for feature in features:
            self._install(feature(self))

    def _install(self, extension: Extension) -> None:
        if extension.name in self.extensions:
            raise ValueError(f"extension {extension.name} is installed twice")
        self.core.install(extension)
        self.event_listeners += extension.event_listeners
        self._listeners_by_kind.clear()
        self.extensions[extension.name] = extension

    def extension(self, name: str) -> Extension | None:
        return self.extensions.get(name)

    def _emit(self, event: events.Event) -> None:
        kind = event.__class__
        listeners = self._listeners_by_kind.get(kind)
        if listeners is None:
            listeners = self._listeners_by_kind[kind] = tuple(
                listener for listener in self.event_listeners if listens_for(listener, kind))
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, type(event).__name__)

    def shutdown(self) -> None:
        self._stop.set()

    # ---- reload -----------------------------------------------------------------------

    def request_reload(self, requester: User | None = None) -> None:
        """SIGHUP or REHASH: re-read the config in a task; ``requester`` is told."""
        if self.nursery is None:
            log.warning("config reload asked before the server runs: ignored")
            return
        self.nursery.start_soon(self.reload, requester)

    async def reload(self, requester: User | None = None) -> bool:
        """Re-read ``config.path`` off the loop and apply it; nobody is disconnected.

        A config that does not load (or whose certificate does not) changes
        nothing; either way the log says how it went, and so does a reply to
        the operator who asked (FAIL or NOTE REHASH with standard-replies, else
        a NOTICE).
        """
        async with self._reload_lock:
            running = self.config
            try:
                fresh, motd, context = await trio.to_thread.run_sync(self._read_config, running)
            except ConfigError as exc:
                self._reload_said(requester, logging.ERROR,
                                  f"config reload failed, nothing changed: {exc}", "CONFIG_BAD")
                return False
            config, pending = merge_reload(running, fresh)
            self.config = config
            if context is not None:
                self.ssl_context = context
            self.core.reconfigure(config, motd)
            for conn in self.connections:
                conn.sendq_limit = config.limits.sendq_bytes
            for extension in self.extensions.values():
                for listener in extension.reload_listeners:
                    try:
                        listener(config)
                    except Exception:
                        log.exception("reload listener %r failed", listener)
            if config.logging.level != running.logging.level:
                logging.getLogger().setLevel(config.logging.level.upper())
            text = f"config reloaded from {config.path}"
            if pending:
                text += f"; these change only with a restart: {', '.join(pending)}"
            self._reload_said(requester, logging.INFO, text, "CONFIG_RELOADED")
            return True

    def _read_config(
        self, running: Config
    ) -> tuple[Config, list[str], ssl.SSLContext | None]:
        """In a thread: the file, the MOTD file and the TLS certificate it names."""
        fresh = load_config(running.path)
        motd = fresh.server.motd
        if fresh.server.motd_file:
            try:
                motd = fresh.resolve(fresh.server.motd_file).read_text("utf-8", "replace")
            except OSError as exc:
                raise ConfigError(fresh.path, "server.motd_file",
                                  f"cannot read: {exc.strerror or exc}") from exc
        context = None
        if running.tls.listen and fresh.tls.cert and fresh.tls.key:
            context = self._ssl_context(fresh)
        return fresh, motd.splitlines(), context

    def _reload_said(self, requester: User | None, level: int, text: str, code: str) -> None:
        log.log(level, "%s", text)
        if requester is not None and requester in self.core.connections:
            kind = "FAIL" if level >= logging.ERROR else "NOTE"
            self.core.standard_reply(requester, kind, "REHASH", code, text)

    async def run(
        self, *, task_status: trio.TaskStatus[list[BoundAddress]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        listeners = await self._open_listeners()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self.offload.nursery = nursery
            for extension in self.extensions.values():
                for service in extension.services:
                    await nursery.start(service, self)
            accept_scope = trio.CancelScope()
            connections_nursery_done = trio.Event()

            async def serve() -> None:
                try:
                    async with trio.open_nursery() as conns:
                        with accept_scope:
                            async with trio.open_nursery() as acceptors:
                                for listener, tls in listeners:
                                    acceptors.start_soon(self._accept_loop, listener, tls, conns)
                        with trio.CancelScope(shield=True):
                            for listener, _ in listeners:
                                await trio.aclose_forcefully(listener)
                finally:
                    connections_nursery_done.set()

            nursery.start_soon(self.outbox.run)
            nursery.start_soon(serve)
            nursery.start_soon(self._housekeeping)
            for bound in self.addresses:
                scheme = "tls " if bound.tls else ""
                host = f"[{bound.host}]" if ":" in bound.host else bound.host
                log.info("listening on %s%s:%d", scheme, host, bound.port)
            task_status.started(self.addresses)
            await self._stop.wait()
            log.info("shutting down")
            accept_scope.cancel()
            for conn in list(self.connections):
                conn.quit_reason = "Server shutting down"
                conn.close(closing_link(conn.user.host, "Server shutting down"))
            with trio.move_on_after(SHUTDOWN_GRACE):
                await connections_nursery_done.wait()
            with trio.CancelScope(shield=True):
                for step in self._shutdown_steps():
                    try:
                        with trio.move_on_after(SHUTDOWN_GRACE):
                            await step()
                    except Exception:
                        log.exception("shutdown step %r failed", step)
            self.offload.nursery = None
            nursery.cancel_scope.cancel()
        log.info("stopped")
        self.stopped.set()

    def _shutdown_steps(self) -> list[ShutdownStep]:
        return [step for ext in self.extensions.values() for step in ext.shutdown_steps]

    async def _open_listeners(self) -> list[tuple[trio.SocketListener, bool]]:
        cfg = self.config
        opened: list[tuple[trio.SocketListener, bool]] = []
        if cfg.tls.listen:
            self.ssl_context = self._ssl_context(cfg)
        for key, addrs, tls in (("server.listen", cfg.server.listen, False),
                                ("tls.listen", cfg.tls.listen, True)):
            for text in addrs:
                host, port = parse_address(text)
                try:
                    socket_listeners = await trio.open_tcp_listeners(port, host=host)
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    if exc.errno == errno.EADDRINUSE:
                        reason = "address already in use"
                    raise ConfigError(cfg.path, key, f"cannot listen on {text}: {reason}") from exc
                for sock_listener in socket_listeners:
                    bound_host, bound_port = sock_listener.socket.getsockname()[:2]
                    self.addresses.append(BoundAddress(bound_host, bound_port, tls))
                    if tls and self.core.tls_port is None:
                        self.core.tls_port = bound_port
                    opened.append((sock_listener, tls))
        return opened

    @staticmethod
    def _ssl_context(cfg: Config) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(cfg.resolve(cfg.tls.cert), cfg.resolve(cfg.tls.key))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(cfg.path, "tls.cert", f"cannot load certificate/key: {exc}") from exc
        # Ask for a client certificate, any (SASL EXTERNAL by its fingerprint).
        clientcert.accept_any_client_certificate(context)
        return context

    async def _accept_loop(
        self, listener: trio.SocketListener, tls: bool, conns: trio.Nursery
    ) -> None:
        while True:
            stream: trio.abc.Stream = await accept_patiently(listener)
            if tls:
                # What trio.SSLListener does, with the context of the moment.
                assert self.ssl_context is not None
                stream = trio.SSLStream(stream, self.ssl_context, server_side=True,
                                        https_compatible=False)
            conns.start_soon(self._handle, stream, tls)

    async def _handle(self, stream: trio.abc.Stream, tls: bool) -> None:
        sock_stream = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
        try:
            ip = sock_stream.socket.getpeername()[0]  # type: ignore[attr-defined]
        except OSError:
            await trio.aclose_forcefully(stream)
            return
        await self.serve_client(stream, ip, tls)

    async def serve_client(
        self, stream: trio.abc.Stream, ip: str, tls: bool, *, kind: str = "",
        certfp: str | None = None,
    ) -> None:
        """One client on ``stream`` (a TCP or TLS socket, or another transport's
        stream of lines such as WebSocket's), from ``ip``: the same admission,
        limits and bans for all; ``kind`` names the transport in log lines."""
        label = f" ({kind}{' TLS' if tls else ''})" if kind else (" (TLS)" if tls else "")
        limits = self.config.limits
        refusal = None
        ban = None
        if len(self.connections) >= limits.max_clients:
            refusal = "Server is full"
        elif self.per_ip[ip] >= limits.clients_per_ip:
            refusal = "Too many connections from your IP address"
        elif (ban := self.core.bans.match_ip(ip, self.core.micros(self.core.clock()))) is not None:
            refusal = bans.quit_reason(ban)
        if refusal is not None:
            why = refusal if ban is None else f"D-line {ban.mask} ({ban.reason})"
            log.info("refused a connection from %s%s: %s", ip, label, why)
            with trio.move_on_after(1):
                try:
                    await stream.send_all(f"ERROR :{closing_link(ip, refusal)}\r\n".encode())
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass
            await trio.aclose_forcefully(stream)
            return
        log.info("connect from %s%s", ip, label or " (plain)")
        conn = Connection(self, stream, ip, tls)
        if certfp is not None:
            conn.user.certfp = certfp
        self.connections.add(conn)
        self.per_ip[ip] += 1
        try:
            await conn.run()
        except Exception:
            # Whatever happened belongs to this client alone.
            log.exception("connection from %s failed", ip)
        finally:
            self.connections.discard(conn)
            self.per_ip[ip] -= 1
            if not self.per_ip[ip]:
                del self.per_ip[ip]

    async def _housekeeping(self) -> None:
        """Registration and ping timeouts for all connections, in one task."""
        while True:
            limits = self.config.limits  # a reload may change them
            # Fine enough that a timeout fires within a quarter of its length.
            interval = min(1.0, limits.registration_timeout / 4, limits.ping_interval / 4,
                           limits.ping_timeout / 4)
            await trio.sleep(interval)
            self.shrinker.check()
            now = trio.current_time()
            self.giveback.check(len(self.connections), now)
            self._check_timeouts(now)

    def _check_timeouts(self, now: float) -> None:
        """Each connection's registration and ping timeouts. A method of its own so
        that no loop variable keeps the last connection checked (a departed client's
        too) alive while the task sleeps."""
        limits = self.config.limits
        for conn in list(self.connections):
            user = conn.user
            if not user.registered:
                if now - conn.created >= limits.registration_timeout:
                    conn.quit_reason = "Registration timed out"
                    conn.close(closing_link(user.host, "Registration timed out"))
                continue
            if conn.ping_sent is not None:
                if now - conn.ping_sent >= limits.ping_timeout:
                    reason = f"Ping timeout: {int(now - conn.last_data)} seconds"
                    conn.quit_reason = reason
                    self.core.kill(user, reason, closing_link(user.host, reason))
            elif now - conn.last_data >= limits.ping_interval:
                conn.ping_sent = now
                conn.send(f"PING :{self.config.server.name}\r\n".encode())
