"""The cap-dropped hook: an extension hears of each capability a client gives up."""

from __future__ import annotations

from pathlib import Path

from ircish.core.extension import Extension
from ircish.core.server import Server
from ircish.core.state import User
from tests.core.helpers import Net, make_server


def test_listeners_hear_each_held_capability_the_client_drops(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    heard: list[tuple[str, str]] = []

    def dropped(srv: Server, user: User, cap: str) -> None:
        assert srv is server and cap not in user.caps
        heard.append((user.nick, cap))

    server.install(Extension(name="probe", capabilities={"x/one": "", "x/two": ""},
                             cap_dropped_listeners=(dropped,)))
    net = Net(server)
    client = net.client("alice", ["x/one", "echo-message"])
    client.send("CAP REQ :-x/two")  # never held: nothing to hear
    client.send("CAP REQ :-x/one x/one")  # held again at the end of the same REQ
    assert heard == []
    client.send("CAP REQ :-x/one -echo-message")
    assert heard == [("alice", "x/one"), ("alice", "echo-message")]
    client.send("CAP REQ :-x/one")  # already gone
    client.send("CAP REQ :nosuch -echo-message")  # NAK: nothing changes
    assert heard == [("alice", "x/one"), ("alice", "echo-message")]
