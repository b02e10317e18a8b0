"""The least a Trio server does per registration: the floor under ircish's ``connect``.

One task per connection (``trio.serve_tcp``), ``receive_some`` until the USER line,
one ``send_all`` of a 16-line burst ending in 376, and on QUIT an ERROR line and a
close. No parsing, state, nicks or limits. Whatever this costs per connection, an
IRC server on Trio costs at least that; the ``connect`` scenario against it says how
many registrations per second Trio itself leaves room for on one core.

    python -m benchmarks.trio_floor --port 0     # prints "LISTENING 127.0.0.1 <port>"
"""

from __future__ import annotations

import argparse
import sys

import trio

# 001-005, LUSERS and MOTD: about the size of a real burst.
_BURST = b"".join(
    b":floor %03d %%s :a line of the registration burst of about this length\r\n" % code
    for code in (1, 2, 3, 4, 5, 5, 251, 252, 253, 254, 255, 265, 266, 375, 372)
) + b":floor 376 %s :End of /MOTD command.\r\n"


async def _client(stream: trio.SocketStream) -> None:
    pending = b""
    nick = b"*"
    try:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                verb, _, rest = line.strip().partition(b" ")
                if verb == b"NICK":
                    nick = rest
                elif verb == b"USER":
                    await stream.send_all(_BURST.replace(b"%s", nick))
                elif verb == b"PING":
                    await stream.send_all(b":floor PONG floor " + rest + b"\r\n")
                elif verb == b"QUIT":
                    await stream.send_all(b"ERROR :Closing Link\r\n")
                    return
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return
    finally:
        await trio.aclose_forcefully(stream)


async def _main(port: int) -> None:
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    sockname = listeners[0].socket.getsockname()
    print(f"LISTENING {sockname[0]} {sockname[1]}", flush=True)
    await trio.serve_listeners(_client, listeners)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        trio.run(_main, args.port)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
