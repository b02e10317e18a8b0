"""Nick claims on the loop: the client's lines wait for the network's answer, a lost
claim is 433, and a granted one wins over a replica that has not heard the news yet.
The network worker is replaced by a fake whose answers the test gives."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from ircish.net.app import IrcServer
from ircish.network.feature import NetworkNode, network_feature
from ircish.testing import test_config as make_config
from tests.core.helpers import Client


class HoldingSink:
    """A FakeSink that counts holds, as ``Connection`` does."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.held = 0

    def send(self, data: bytes) -> None:
        self.chunks.append(data)

    def close(self, error: str) -> None:
        self.chunks.append(f"ERROR :{error}\r\n".encode())

    def hold(self) -> None:
        self.held += 1

    def release(self) -> None:
        self.held -= 1


class FakeNetwork:
    """Answers claims when the test says so; ``submit`` records the operations."""

    def __init__(self) -> None:
        self.ops: list[dict] = []
        self.asked: list[tuple[str, str, bool]] = []
        self.answers: list[tuple[trio.Event, list[bool]]] = []

    def submit(self, op: dict) -> None:
        self.ops.append(op)

    async def claim(self, session: str, nick: str, registered: bool, micros: int) -> bool:
        self.asked.append((session, nick, registered))
        done, answer = trio.Event(), []
        self.answers.append((done, answer))
        await done.wait()
        return answer[0]

    def answer(self, ok: bool) -> None:
        done, answer = self.answers.pop(0)
        answer.append(ok)
        done.set()


def _node(tmp_path: Path) -> tuple[NetworkNode, FakeNetwork]:
    config = make_config(tmp_path, {"storage": {"url": "postgresql+psycopg://u@h/db"},
                                    "network": {"node_id": "n1"}})
    app = IrcServer(config, [network_feature])
    node: NetworkNode = app.extensions["network"].owner
    fake = FakeNetwork()
    node.client = fake  # type: ignore[assignment]
    return node, fake


def _client(node: NetworkNode) -> Client:
    client = Client.__new__(Client)
    client.server = node.server
    client.sink = HoldingSink()  # type: ignore[assignment]
    client.user = node.server.connect(client.sink, "127.0.0.1", "localhost")
    client._seen = 0
    return client


async def test_registration_waits_for_the_claim_and_a_lost_one_is_433(tmp_path: Path) -> None:
    node, fake = _node(tmp_path)
    async with trio.open_nursery() as nursery:
        node._nursery = nursery
        alice = _client(node)
        assert alice.send("NICK alice", "USER a 0 * :A") == []
        await trio.testing.wait_all_tasks_blocked()
        assert fake.asked == [(alice.user.session, "alice", False)]
        assert alice.sink.held == 1 and not alice.user.registered  # type: ignore[attr-defined]
        fake.answer(False)  # another node's user has it
        await trio.testing.wait_all_tasks_blocked()
        lost = alice.take()
        assert [(m.command, m.params[:2]) for m in lost] == [("433", ["*", "alice"])]
        assert alice.sink.held == 0  # type: ignore[attr-defined]
        alice.send("NICK alice2")
        await trio.testing.wait_all_tasks_blocked()
        fake.answer(True)
        await trio.testing.wait_all_tasks_blocked()
        assert alice.user.registered and alice.take()[0].command == "001"
        nursery.cancel_scope.cancel()


async def test_a_granted_rename_wins_over_a_stale_replica(tmp_path: Path) -> None:
    node, fake = _node(tmp_path)
    async with trio.open_nursery() as nursery:
        node._nursery = nursery
        alice = _client(node)
        alice.send("NICK alice", "USER a 0 * :A")
        await trio.testing.wait_all_tasks_blocked()
        fake.answer(True)
        await trio.testing.wait_all_tasks_blocked()
        alice.take()
        alice.send("NICK bob")
        await trio.testing.wait_all_tasks_blocked()
        # Meanwhile a remote bob appears here; the database already freed its nick
        # (its rename to robert commits later) and gives it to alice.
        node.replica.apply("n2", {"t": "user", "session": "s2", "nick": "bob", "username": "~b",
                                  "host": "h", "realname": "B", "account": None, "modes": "",
                                  "micros": 1})
        fake.answer(True)
        await trio.testing.wait_all_tasks_blocked()
        assert alice.user.nick == "bob" and node.server.find_user("bob") is alice.user
        assert [m.command for m in alice.take()] == ["NICK"]
        node.replica.apply("n2", {"t": "nick", "session": "s2", "new": "robert",
                                  "msgid": "m1", "micros": 2})
        robert = node.server.find_user("robert")
        assert robert is not None and robert.session == "s2"
        assert node.server.find_user("bob") is alice.user
        nursery.cancel_scope.cancel()
