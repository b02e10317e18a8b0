"""A RENAME racing the lines other nodes say to the channel, on cores linked in memory.

Each node's operations (its capture's and its replica's own, in one order, as its
stream) wait in a queue per peer until the test delivers them, so a node can be
made to say a line to a channel before it has heard of the channel's RENAME
(``ircish.network.replica``'s docstring). ``test_rename.py`` runs the same race
on real nodes and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ircish.core.server import Server
from ircish.network.capture import Capture, node_op
from ircish.network.replica import Replica
from ircish.protocol import Message
from ircish.rename.feature import rename_feature
from tests.core.helpers import Client, Net, first, make_server

CAPS = ["message-tags", "server-time", "echo-message", "draft/channel-rename"]
Op = dict[str, Any]


class Node:
    def __init__(self, tmp_path: Path, name: str) -> None:
        self.name = name
        self.server: Server = make_server(tmp_path, {"channels": {"auto_join": []},
                                                     "server": {"name": f"{name}.test"}})
        self.server.install(rename_feature(None))  # type: ignore[arg-type]
        sessions: dict = {}
        self.capture = Capture(self.server, sessions)
        self.replica = Replica(self.server, sessions)
        self.replica.submit = self._submit
        self.outbox: dict[str, list[Op]] = {}  # peer -> this node's ops not delivered
        self.stream: list[Op] = []  # everything this node committed, in order
        self.net = Net(self.server)
        self.server.emit = self._emit

    def _submit(self, op: Op) -> None:
        wire = json.loads(json.dumps(op))  # as the event table stores it
        self.stream.append(wire)
        for queue in self.outbox.values():
            queue.append(wire)

    def _emit(self, event) -> None:  # type: ignore[no-untyped-def]
        op = self.capture.op(event)
        if op is not None:
            self._submit(op)
            if op["t"] == "rename":  # as the feature does
                self.replica.renamed_here(op)


def _network(tmp_path: Path, *names: str) -> dict[str, Node]:
    nodes = {name: Node(tmp_path, name) for name in names}
    for node in nodes.values():
        node.outbox = {other: [] for other in nodes if other != node.name}
    for node in nodes.values():
        node._submit(node_op(node.name, node.server.name))
    settle(nodes)
    return nodes


def deliver(nodes: dict[str, Node], frm: str, to: str) -> int:
    """``frm``'s queued operations applied by ``to``, as one batch; how many."""
    queue = nodes[frm].outbox[to]
    ops, queue[:] = list(queue), []
    for op in ops:
        nodes[to].replica.apply(frm, op)
    nodes[to].replica.flush()
    return len(ops)


def settle(nodes: dict[str, Node]) -> None:
    while sum(deliver(nodes, a, b) for a in nodes for b in nodes if a != b):
        pass


def _said(msgs: list[Message]) -> list[tuple[str, str]]:
    return [(m.params[0], m.params[1]) for m in msgs if m.command == "PRIVMSG"]


def _moves(node: Node) -> list[Op]:
    return [op for op in node.stream if op["t"] == "move"]


def _three_in_r(tmp_path: Path) -> tuple[dict[str, Node], tuple[Client, Client, Client]]:
    """Nodes a, b and c, with alice, bob and cyril (one on each) in #r, all settled."""
    nodes = _network(tmp_path, "a", "b", "c")
    clients = (nodes["a"].net.client("alice", CAPS), nodes["b"].net.client("bob", CAPS),
               nodes["c"].net.client("cyril", CAPS))
    settle(nodes)
    for client in clients:
        client.send("JOIN #r")
        settle(nodes)
    for client in clients:
        client.take()
    return nodes, clients


def test_a_line_said_before_its_node_heard_of_the_rename_reaches_the_renamed_channel(
    tmp_path: Path,
) -> None:
    nodes = _network(tmp_path, "a", "b")
    a, b = nodes["a"], nodes["b"]
    alice = a.net.client("alice", CAPS)
    bob = b.net.client("bob", CAPS)
    settle(nodes)
    alice.send("JOIN #r")
    settle(nodes)
    bob.send("JOIN #r")
    settle(nodes)
    alice.take(), bob.take()

    alice.send("RENAME #r #s :moving")  # b has not heard of it
    carol = a.net.client("carol", CAPS)
    carol.send("JOIN #r")  # a new channel of the old name, on the renaming node
    echo = first(bob.send("PRIVMSG #r :late"), "PRIVMSG")
    assert echo.params == ["#r", "late"]  # b knows the channel by its old name still
    deliver(nodes, "b", "a")
    got = first(alice.take(), "PRIVMSG")
    assert got.params == ["#s", "late"]  # under the name a knows it by
    assert got.tags["msgid"] == echo.tags["msgid"] and got.tags["time"] == echo.tags["time"]
    assert _said(carol.take()) == []
    # a renamed it, so a moves the row b stored under the old key.
    assert _moves(a) == [{"t": "move", "from": "#r", "to": "#s", "name": "#s",
                          "msgids": [echo.tags["msgid"]]}]

    # b hears of the rename and says so; from then on its "#r" is the new channel.
    deliver(nodes, "a", "b")
    assert [op["t"] for op in b.stream[-1:]] == ["renamed"]
    assert first(bob.take(), "RENAME").params[:2] == ["#r", "#s"]
    dave = b.net.client("dave", CAPS)
    dave.send("JOIN #r")
    dave.send("PRIVMSG #r :new channel")
    first(bob.send("PRIVMSG #s :after"), "PRIVMSG")
    settle(nodes)
    assert _said(carol.take()) == [("#r", "new channel")]
    assert _said(alice.take()) == [("#s", "after")]
    assert len(_moves(a)) == 1
    assert {u.nick for u in a.server.find_channel("#r").members} == {"carol", "dave"}
    assert {u.nick for u in b.server.find_channel("#s").members} == {"alice", "bob"}


def test_a_node_that_hears_of_a_rename_from_a_third_applies_it_then(tmp_path: Path) -> None:
    """c gets b's acknowledgement (and b's new channel of the old name) before a's
    RENAME itself: it renames then, so b's new channel stays apart from the renamed
    one, and a's RENAME, when it comes, is shown once."""
    nodes, (alice, _, cyril) = _three_in_r(tmp_path)
    b, c = nodes["b"], nodes["c"]

    alice.send("PRIVMSG #r :before")  # said before the rename, held for c
    alice.send("RENAME #r #s")
    deliver(nodes, "a", "b")  # b renames and acknowledges
    dave = b.net.client("dave", CAPS)
    dave.send("JOIN #r")
    dave.send("PRIVMSG #r :new channel")
    deliver(nodes, "b", "c")  # c: b's acknowledgement, dave, his line; a's not yet
    shown = cyril.take()
    assert [m.params[:2] for m in shown if m.command == "RENAME"] == [["#r", "#s"]]
    assert _said(shown) == []  # dave's #r is not the channel cyril is in
    assert {u.nick for u in c.server.find_channel("#r").members} == {"dave"}
    deliver(nodes, "a", "c")  # a's line before the rename, then the RENAME
    shown = cyril.take()
    assert _said(shown) == [("#s", "before")]
    assert [m for m in shown if m.command == "RENAME"] == []
    settle(nodes)
    assert {u.nick for u in c.server.find_channel("#s").members} == {"alice", "bob", "cyril"}
    assert not c.replica._pending  # every origin acknowledged


def test_renames_in_a_chain_move_a_late_line_to_the_last_name(tmp_path: Path) -> None:
    """#r -> #s by a, then #s -> #t by c, while b (which heard of neither) speaks:
    b's line reaches every member, and the moves take its row to #t."""
    nodes, (alice, bob, cyril) = _three_in_r(tmp_path)
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    alice.send("MODE #r +o cyril")
    settle(nodes)

    alice.send("RENAME #r #s")
    deliver(nodes, "a", "c")
    cyril.take()
    assert first(cyril.send("RENAME #s #t"), "RENAME").params[:2] == ["#s", "#t"]
    echo = first(bob.send("PRIVMSG #r :late"), "PRIVMSG")
    deliver(nodes, "b", "a")  # a has not heard of #t: it moves the row to #s
    assert _said(alice.take()) == [("#s", "late")]
    assert [(m["from"], m["to"]) for m in _moves(a)] == [("#r", "#s")]
    deliver(nodes, "b", "c")
    assert _said(cyril.take()) == [("#t", "late")]
    deliver(nodes, "a", "c")  # a's move to #s, said before a heard of #t: c moves on
    assert [(m["from"], m["to"], m["msgids"]) for m in _moves(c)] == [
        ("#s", "#t", [echo.tags["msgid"]])]
    settle(nodes)
    assert [(m["from"], m["to"]) for m in _moves(a) + _moves(b) + _moves(c)] == [
        ("#r", "#s"), ("#s", "#t")]
    for node in nodes.values():
        assert node.server.find_channel("#t") is not None
        assert node.server.find_channel("#r") is None and node.server.find_channel("#s") is None
        assert not node.replica._pending
