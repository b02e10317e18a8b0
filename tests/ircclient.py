"""A raw-IRC test client: send lines, wait for the ones you expect."""

from __future__ import annotations

from collections.abc import Callable

import trio

from ircish.protocol import Message, parse

DEFAULT_TIMEOUT = 5.0


class RawClient:
    def __init__(self, stream: trio.abc.Stream, nick: str = "*") -> None:
        self.stream = stream
        self.nick = nick
        self._buf = b""
        self.seen: list[Message] = []
        self.closed = False

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawClient:
        return cls(await trio.open_tcp_stream(host, port))

    async def send(self, *lines: str) -> None:
        await self.stream.send_all("".join(line + "\r\n" for line in lines).encode())

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def _read_line(self) -> Message | None:
        while b"\r\n" not in self._buf:
            try:
                data = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self.closed = True
                return None
            self._buf += data
        line, self._buf = self._buf.split(b"\r\n", 1)
        msg = parse(line.decode("utf-8", "replace"))
        self.seen.append(msg)
        return msg

    async def expect(
        self,
        command: str | Callable[[Message], bool],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """Read until a line matches (by verb, or by predicate); fail after ``timeout``."""
        match = (lambda m: m.command == command) if isinstance(command, str) else command
        with trio.fail_after(timeout):
            while True:
                msg = await self._read_line()
                if msg is None:
                    raise AssertionError(f"connection closed while waiting for {command}")
                if match(msg):
                    return msg

    async def cap_ls(self) -> list[str]:
        """``CAP LS 302``'s whole list, however many lines it takes (a long one comes
        as ``CAP * LS * :...`` lines before the last)."""
        await self.send("CAP LS 302")
        offered: list[str] = []
        while True:
            line = await self.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
            offered += line.params[-1].split()
            if line.params[2] != "*":
                return offered

    async def collect_until(self, command: str, timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        """Every line up to and including the first ``command``."""
        start = len(self.seen)
        await self.expect(command, timeout)
        return self.seen[start:]

    async def nothing_within(self, seconds: float) -> list[Message]:
        """Lines that arrive within ``seconds`` (a test asserts it is empty or not)."""
        start = len(self.seen)
        with trio.move_on_after(seconds):
            while await self._read_line() is not None:
                pass
        return self.seen[start:]

    async def read_until_closed(self, timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        start = len(self.seen)
        with trio.fail_after(timeout):
            while await self._read_line() is not None:
                pass
        return self.seen[start:]

    async def register(self, nick: str, caps: list[str] | None = None) -> list[Message]:
        self.nick = nick
        if caps:
            await self.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick} realname")
            # The last line of the list: a long one comes as `CAP * LS * :...` lines first.
            await self.expect(lambda m: m.command == "CAP" and m.params[1] == "LS"
                              and m.params[2] != "*")
            await self.send(f"CAP REQ :{' '.join(caps)}")
            ack = await self.expect("CAP")
            assert ack.params[1] == "ACK", ack
            await self.send("CAP END")
        else:
            await self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} realname")
        return await self.collect_until("376")

    async def aclose(self) -> None:
        await self.stream.aclose()
