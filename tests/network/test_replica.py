"""Two cores linked in memory through the network's operations (no database): what one
node's users do is replayed on the other with the same lines, msgids and times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ircish.core.server import Server
from ircish.network.capture import Capture
from ircish.network.replica import Replica, is_remote
from ircish.protocol import parse
from tests.core.helpers import Net, every, first, make_server

CAPS = ["message-tags", "server-time", "echo-message", "extended-join"]


class Node:
    def __init__(self, tmp_path: Path, name: str) -> None:
        self.name = name
        self.server: Server = make_server(tmp_path, {"channels": {"auto_join": []}})
        sessions: dict = {}
        self.capture = Capture(self.server, sessions)
        self.replica = Replica(self.server, sessions)
        self.peers: list[Node] = []
        self.net = Net(self.server)
        self.server.emit = self._emit

    def _emit(self, event) -> None:  # type: ignore[no-untyped-def]
        op = self.capture.op(event)
        if op is not None:
            wire = json.loads(json.dumps(op))  # as the event table stores it
            for peer in self.peers:
                peer.replica.apply(self.name, wire)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Node, Node]:
    a, b = Node(tmp_path, "a"), Node(tmp_path, "b")
    a.peers, b.peers = [b], [a]
    return a, b


def _same(x, y) -> None:  # type: ignore[no-untyped-def]
    assert (x.command, x.params, x.source) == (y.command, y.params, y.source)
    assert x.tags["msgid"] == y.tags["msgid"] and x.tags["time"] == y.tags["time"]


def test_remote_users_are_seen_and_lines_keep_msgid_and_time(pair: tuple[Node, Node]) -> None:
    a, b = pair
    alice = a.net.client("alice", CAPS)
    bob = b.net.client("bob", CAPS)
    remote_alice = b.server.find_user("alice")
    assert remote_alice is not None and is_remote(remote_alice)
    assert remote_alice.session == alice.user.session
    alice.send("JOIN #c")
    joined = bob.send("JOIN #c")
    names = first(joined, "353").params[-1].split()
    assert sorted(names) == ["@alice", "bob"]
    _same(first(alice.take(), "JOIN"), first(joined, "JOIN"))
    echo = first(alice.send("PRIVMSG #c :hi"), "PRIVMSG")
    _same(first(bob.take(), "PRIVMSG"), echo)
    # WHO and WHOIS on b answer for a's user.
    who = every(bob.send("WHO #c"), "352")
    assert sorted(m.params[5] for m in who) == ["alice", "bob"]
    assert first(bob.send("WHOIS alice"), "319").params[-1] == "@#c"
    # A private message to a remote user reaches it once, on its own node.
    echo = first(bob.send("PRIVMSG alice :psst"), "PRIVMSG")
    _same(first(alice.take(), "PRIVMSG"), echo)


def test_ops_a_remote_node_sees_change_its_replica(pair: tuple[Node, Node]) -> None:
    a, b = pair
    alice = a.net.client("alice", CAPS)
    bob = b.net.client("bob", CAPS)
    alice.send("JOIN #c")
    bob.send("JOIN #c")
    alice.take()
    _same(first(alice.send("MODE #c +o bob"), "MODE"), first(bob.take(), "MODE"))
    channel_b = b.server.find_channel("#c")
    assert channel_b is not None and channel_b.members[bob.user] == "o"
    _same(first(bob.send("TOPIC #c :new"), "TOPIC"), first(alice.take(), "TOPIC"))
    assert a.server.find_channel("#c").topic == "new"  # type: ignore[union-attr]
    _same(first(bob.send("MODE #c +b x!*@*"), "MODE"), first(alice.take(), "MODE"))
    assert [m for m, _, _ in a.server.find_channel("#c").bans] == ["x!*@*"]  # type: ignore[union-attr]
    _same(first(alice.send("NICK carol"), "NICK"), first(bob.take(), "NICK"))
    assert b.server.find_user("carol") is not None and b.server.find_user("alice") is None
    # A kick of a's user by b's op removes it on both.
    _same(first(bob.send("KICK #c carol :bye"), "KICK"), first(alice.take(), "KICK"))
    assert "#c" not in alice.user.channels
    assert [u.nick for u in b.server.find_channel("#c").members] == ["bob"]  # type: ignore[union-attr]
    alice.send("JOIN #c")
    bob.take()
    alice.disconnect("gone")
    quit_line = first(bob.take(), "QUIT")
    assert quit_line.source.startswith("carol!") and quit_line.params == ["gone"]
    assert b.server.find_user("carol") is None
    assert all(not is_remote(u) for u in b.server.users.values())


def test_bad_or_unknown_operations_are_logged_not_fatal(
    pair: tuple[Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    _, b = pair
    bob = b.net.client("bob", CAPS)
    b.replica.apply("a", {"t": "frobnicate"})
    b.replica.apply("a", {"t": "join", "session": "nobody", "channel": "#c", "held": "",
                          "msgid": "m", "micros": 1})
    b.replica.apply("a", {"t": "msg"})  # missing every field
    assert "unknown operation 'frobnicate'" in caplog.text
    assert "operation 'msg' from a failed" in caplog.text
    assert b.server.find_channel("#c") is None
    assert bob.send("PING x")[-1].command == "PONG"


def test_an_operation_written_twice_is_shown_once(pair: tuple[Node, Node]) -> None:
    a, b = pair
    alice = a.net.client("alice", CAPS)
    bob = b.net.client("bob", CAPS)
    alice.send("JOIN #c")
    bob.send("JOIN #c")
    alice.take()
    op = {"t": "msg", "command": "PRIVMSG", "source": alice.user.source, "account": None,
          "target": "#c", "channel": True, "text": "once", "tags": {}, "msgid": "dup1",
          "micros": 1_700_000_000_000_000}
    b.replica.apply("a", op)
    b.replica.apply("a", dict(op))  # the same batch again, after a lost COMMIT answer
    assert [m.params[1] for m in bob.take() if m.command == "PRIVMSG"] == ["once"]
    assert b.replica.duplicates == 1


ML_BASE = ["message-tags", "batch", "echo-message", "server-time"]
ML_LINES = [
    "@batch=r1 PRIVMSG #c hello",
    "@batch=r1 PRIVMSG #c :how is ",
    "@batch=r1;draft/multiline-concat PRIVMSG #c :everyone?",
    "@batch=r1 PRIVMSG #c :\x01fake",
]


def test_a_multiline_message_reaches_the_other_node_as_lines_never_a_line_feed(
    tmp_path: Path,
) -> None:
    from ircish.multiline.feature import multiline_extension

    a, b = Node(tmp_path, "a"), Node(tmp_path, "b")
    a.peers, b.peers = [b], [a]
    for node in (a, b):
        node.server.install(multiline_extension(node.server))
    alice = a.net.client("alice", [*ML_BASE, "draft/multiline"])
    bob = b.net.client("bob", ML_BASE)
    carol = b.net.client("carol", [*ML_BASE, "draft/multiline"])
    for client in (alice, bob, carol):
        client.send("JOIN #c")
    for client in (alice, bob, carol):
        client.take()
    echo = alice.send("BATCH +r1 draft/multiline #c", *ML_LINES, "BATCH -r1")
    msgid = first(echo, "BATCH").tags["msgid"]
    # Without the capability: one PRIVMSG per line, no raw line feed anywhere
    # (a "\n" inside one line would let a sender forge lines on the other node).
    raw = bob.raw()
    assert not any("\n" in line for line in raw)
    texts = [parse(line).params[-1] for line in raw]
    assert texts == ["hello", "how is ", "everyone?", "\x01fake"]
    assert parse(raw[0]).tags["msgid"] == msgid
    # With it: the batch, its lines in order, the concat kept, the origin's msgid.
    lines = carol.take()
    start, inner = lines[0], lines[1:-1]
    assert start.command == "BATCH" and start.tags["msgid"] == msgid
    assert [m.params[-1] for m in inner] == ["hello", "how is ", "everyone?", "\x01fake"]
    assert ["draft/multiline-concat" in m.tags for m in inner] == [False, False, True, False]
