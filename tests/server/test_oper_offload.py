"""Over sockets: a password check does not hold the event loop, nor does one client's burst."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest
import trio

from ircish.core.commands import Command
from ircish.core.handlers import oper as oper_module
from ircish.core.server import Server
from ircish.core.state import User
from ircish.net.connection import TURN_BUDGET_S
from ircish.passwords import hash_password
from ircish.protocol import Message
from ircish.testing import start_server
from tests.ircclient import RawClient


class BlockingVerifier:
    """Stands in for verify_password: blocks its thread until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, password: str, stored: str) -> bool:
        self.started.set()
        # Bounded, so a verifier run on the event loop (the bug) cannot hang the test.
        self.release.wait(5)
        self.finished.set()
        return password == "right"


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch) -> BlockingVerifier:
    v = BlockingVerifier()
    monkeypatch.setattr(oper_module, "verify_password", v)
    return v


def _oper_config() -> dict[str, object]:
    return {"opers": [{"name": "boss", "password_hash": hash_password("right")}]}


async def _client(port: int, nick: str) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick)
    return client


async def _on_socket(port: int, nick: str) -> tuple[socket.socket, RawClient]:
    """A registered client, and its socket, which a command handler can write to
    itself (a line that arrives while the server is busy with another's)."""
    sock = socket.create_connection(("127.0.0.1", port))
    client = RawClient(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
    await client.register(nick)
    return sock, client


async def _other_got_in_early(order: list[str], lines: int) -> None:
    """Once every line was handled: "other"'s one line came within the first half."""
    with trio.fail_after(5):
        while len(order) < lines + 1:
            await trio.sleep(0.01)
    assert order.count("other") == 1
    assert order.index("other") < lines // 2, order


async def test_others_are_answered_while_a_password_is_checked(
    tmp_path: Path, verifier: BlockingVerifier
) -> None:
    async with start_server(tmp_path, _oper_config()) as srv:
        op, other = await _client(srv.port, "op"), await _client(srv.port, "other")
        await op.send("OPER boss right")
        with trio.fail_after(5):
            await trio.to_thread.run_sync(verifier.started.wait)
        await other.send("PING while-hashing")
        pong = await other.expect("PONG", timeout=3)
        assert pong.params[-1] == "while-hashing"
        assert not verifier.finished.is_set(), "the check held the loop until it finished"
        verifier.release.set()
        await op.expect("381")
        await op.aclose()
        await other.aclose()


async def test_no_answer_for_a_client_that_left_mid_check(
    tmp_path: Path, verifier: BlockingVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    async with start_server(tmp_path, _oper_config()) as srv:
        op, other = await _client(srv.port, "op"), await _client(srv.port, "other")
        await op.send("OPER boss right")
        with trio.fail_after(5):
            await trio.to_thread.run_sync(verifier.started.wait)
        # Its own lines wait for the answer (QUIT too), so it leaves another way:
        # killed while its check is in the thread.
        victim = srv.core.find_user("op")
        assert victim is not None
        srv.core.kill(victim, "Killed (test)", "Closing Link: killed")
        await op.read_until_closed()
        verifier.release.set()
        with trio.fail_after(5):
            await trio.to_thread.run_sync(verifier.finished.wait)
        await other.send("WHOIS op")
        assert (await other.expect("401")).params[1] == "op"
        assert srv.core.user_mode_counts["o"] == 0
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        await other.aclose()


async def test_one_clients_burst_lets_others_in_between_its_lines(tmp_path: Path) -> None:
    burst = 50
    order: list[str] = []
    async with start_server(tmp_path, {"limits": {"flood_burst": 1000}}) as srv:
        sock, other = await _on_socket(srv.port, "other")
        talker = await _client(srv.port, "talker")

        def tick(server: Server, user: User, msg: Message) -> None:
            order.append(user.nick)
            # A costly line (as a password check on the loop was): together the
            # burst holds the loop far past the reader's turn budget.
            time.sleep(2 * TURN_BUDGET_S)
            if len(order) == 1:
                # The other client's line reaches the server while the burst is
                # being handled: it should not wait for the whole burst.
                sock.send(b"TICK now\r\n")

        srv.core.commands["TICK"] = Command("TICK", tick, min_params=1)
        await talker.send(*[f"TICK {i}" for i in range(burst)])
        await _other_got_in_early(order, burst)
        await talker.aclose()
        await other.aclose()


async def test_a_client_whose_next_line_is_always_there_lets_others_in(
    tmp_path: Path,
) -> None:
    # Each of the talker's lines is one read (the next is sent while the last is
    # handled), so the data is already there at every receive: the reader's turn
    # must span its reads, not start again at each.
    lines = 50
    order: list[str] = []
    async with start_server(tmp_path, {"limits": {"flood_burst": 1000}}) as srv:
        other_sock, other = await _on_socket(srv.port, "other")
        talker_sock, talker = await _on_socket(srv.port, "talker")

        def tick(server: Server, user: User, msg: Message) -> None:
            order.append(user.nick)
            if user.nick != "talker":
                return
            if len(order) == 1:
                other_sock.send(b"TICK now\r\n")
            if len(order) < lines + 1:
                talker_sock.send(f"TICK {len(order)}\r\n".encode())
            time.sleep(2 * TURN_BUDGET_S)

        srv.core.commands["TICK"] = Command("TICK", tick, min_params=1)
        await talker.send("TICK 0")
        await _other_got_in_early(order, lines)
        await talker.aclose()
        await other.aclose()


async def test_a_clients_lines_wait_for_its_password_check(
    tmp_path: Path, verifier: BlockingVerifier
) -> None:
    async with start_server(tmp_path, _oper_config()) as srv:
        op, other = await _client(srv.port, "op"), await _client(srv.port, "other")
        await op.send("OPER boss right", "PING :after")
        with trio.fail_after(5):
            await trio.to_thread.run_sync(verifier.started.wait)
        # Others are served meanwhile; the client's own PING waits its turn.
        await other.send("PING :meanwhile")
        await other.expect("PONG")
        assert await op.nothing_within(0.2) == []
        verifier.release.set()
        replies = await op.collect_until("PONG")
        assert [m.command for m in replies] == ["MODE", "381", "PONG"]
        await other.aclose()
