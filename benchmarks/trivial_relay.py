"""A minimal, fast IRC-ish fan-out relay: the yardstick for the load generator.

It speaks just enough IRC for ``benchmarks.run``: NICK/USER answered with 001, JOIN
answered with the JOIN echo and 366, PING/PONG, PRIVMSG/NOTICE to a channel fanned
out to the other members, QUIT. No modes, no checks, no limits beyond a send queue.

Why it exists: if the generator reports far more deliveries per second and far lower
latency against this relay than any scenario's target, the generator is not what
limits a measurement of a real server. It is written for speed the same way as the
generator: one epoll loop, and all lines for a channel gathered during one loop turn
are joined once and appended to each member's buffer, one ``send`` per member.

    python -m benchmarks.trivial_relay --port 0     # prints "LISTENING 127.0.0.1 <port>"
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import time

_SENDQ_LIMIT = 16 * 1024 * 1024
_MAX_CLIENTS = 20000


class _Conn:
    __slots__ = ("channels", "fd", "nick", "out", "prefix", "sock", "tail", "user", "writing")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.nick = b""
        self.user = False
        self.prefix = b""
        self.tail = b""
        self.out = bytearray()
        self.channels: set[bytes] = set()
        self.writing = False


class Relay:
    def __init__(self, host: str, port: int) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(4096)
        self.listener.setblocking(False)
        self.epoll = select.epoll()
        self.epoll.register(self.listener.fileno(), select.EPOLLIN)
        self.conns: dict[int, _Conn] = {}
        self.channels: dict[bytes, set[_Conn]] = {}
        # Lines for each channel gathered during one loop turn: (sender, line).
        self.pending: dict[bytes, list[tuple[_Conn, bytes]]] = {}
        self.dirty: set[_Conn] = set()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return host, port

    def _accept(self) -> None:
        for _ in range(1024):  # bounded: come back on the next turn for the rest
            try:
                sock, _addr = self.listener.accept()
            except BlockingIOError:
                return
            if len(self.conns) >= _MAX_CLIENTS:
                sock.close()
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock)
            self.conns[conn.fd] = conn
            self.epoll.register(conn.fd, select.EPOLLIN)

    def _close(self, conn: _Conn) -> None:
        if self.conns.pop(conn.fd, None) is None:
            return
        self.epoll.unregister(conn.fd)
        for name in conn.channels:
            members = self.channels.get(name)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self.channels[name]
        self.dirty.discard(conn)
        conn.sock.close()

    def _queue(self, conn: _Conn, data: bytes) -> None:
        conn.out += data
        self.dirty.add(conn)

    def _line(self, conn: _Conn, line: bytes) -> None:
        verb, _, rest = line.partition(b" ")
        verb = verb.upper()
        if verb in (b"PRIVMSG", b"NOTICE"):
            target = rest.partition(b" ")[0].lower()
            if target in conn.channels:
                self.pending.setdefault(target, []).append(
                    (conn, b":" + conn.prefix + b" " + line + b"\r\n")
                )
        elif verb == b"PING":
            self._queue(conn, b":relay PONG relay " + rest + b"\r\n")
        elif verb == b"JOIN" and conn.prefix:
            for name in rest.split(b" ")[0].split(b","):
                key = name.lower()
                self.channels.setdefault(key, set()).add(conn)
                conn.channels.add(key)
                self._queue(
                    conn,
                    b":%s JOIN %s\r\n:relay 366 %s %s :End of /NAMES list.\r\n"
                    % (conn.prefix, name, conn.nick, name),
                )
        elif verb == b"NICK":
            conn.nick = rest.split(b" ")[0].lstrip(b":")
            self._maybe_welcome(conn)
        elif verb == b"USER":
            conn.user = True
            self._maybe_welcome(conn)
        elif verb == b"QUIT":
            self._close(conn)

    def _maybe_welcome(self, conn: _Conn) -> None:
        if conn.nick and conn.user and not conn.prefix:
            conn.prefix = conn.nick + b"!relay@127.0.0.1"
            self._queue(conn, b":relay 001 %s :Welcome to the relay\r\n" % conn.nick)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        data = conn.tail + data
        lines = data.split(b"\n")
        conn.tail = lines.pop()
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line:
                self._line(conn, line)
                if conn.fd not in self.conns:
                    return

    def _fan_out(self) -> None:
        for name, items in self.pending.items():
            members = self.channels.get(name, ())
            blob = b"".join(line for _, line in items)
            senders = {sender for sender, _ in items}
            for member in members:
                if member in senders:
                    member.out += b"".join(line for s, line in items if s is not member)
                else:
                    member.out += blob
                self.dirty.add(member)
        self.pending.clear()

    def _flush(self) -> None:
        for conn in self.dirty:
            if not conn.out or conn.fd not in self.conns:
                continue
            try:
                n = conn.sock.send(conn.out)
            except BlockingIOError:
                n = 0
            except OSError:
                n = -1
            if n < 0 or len(conn.out) - n > _SENDQ_LIMIT:
                conn.out.clear()
                self.epoll.modify(conn.fd, select.EPOLLIN)
                conn.sock.shutdown(socket.SHUT_RDWR)  # "SendQ exceeded": reaped on next read
                continue
            del conn.out[:n]
            want = bool(conn.out)
            if want != conn.writing:
                conn.writing = want
                self.epoll.modify(conn.fd, select.EPOLLIN | (select.EPOLLOUT if want else 0))
        self.dirty.clear()

    def serve(self, lifetime_s: float) -> None:
        deadline = time.monotonic() + lifetime_s
        lfd = self.listener.fileno()
        while time.monotonic() < deadline:
            for fd, ev in self.epoll.poll(1.0):
                if fd == lfd:
                    self._accept()
                    continue
                conn = self.conns.get(fd)
                if conn is None:
                    continue
                if ev & select.EPOLLOUT:
                    self.dirty.add(conn)
                if ev & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP):
                    self._read(conn)
            if self.pending:
                self._fan_out()
            if self.dirty:
                self._flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--lifetime", type=float, default=3600.0, help="seconds before the relay exits by itself"
    )
    args = parser.parse_args(argv)
    relay = Relay(args.host, args.port)
    host, port = relay.address
    print(f"LISTENING {host} {port}", flush=True)
    try:
        relay.serve(args.lifetime)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
