"""What REDACT remembers of messages nobody can redact any more is forgotten once
their senders and channels are gone (it held up to 20,000 messages, about 8 MB,
after the clients had left)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ircish.core import events
from ircish.redaction.feature import Redaction
from tests.core.helpers import Net, make_server


def _net(tmp_path: Path) -> tuple[Net, Redaction]:
    emitted: list[events.Event] = []
    server = make_server(tmp_path, emit=emitted.append)
    redaction = Redaction(SimpleNamespace(core=server))  # type: ignore[arg-type]
    server.emit = lambda event: (emitted.append(event), redaction.on_event(event))[0]
    return Net(server), redaction


def _msgids(client_lines: list) -> list[str]:  # type: ignore[type-arg]
    return [m.tags["msgid"] for m in client_lines if m.command == "PRIVMSG"]


def test_a_crowd_that_left_leaves_nothing_to_redact_behind(tmp_path: Path) -> None:
    net, redaction = _net(tmp_path)
    stay = net.client("stay", ["message-tags"])
    net.joined("#stay", stay)
    stay.send("PRIVMSG #stay :kept")
    crowd = [net.client(f"c{n}") for n in range(50)]
    for n, c in enumerate(crowd):
        c.send(f"JOIN #c{n}", f"PRIVMSG #c{n} :hello", "JOIN #stay", "PRIVMSG #stay :hi",
               f"PRIVMSG stay :psst {n}", f"PRIVMSG c{(n + 1) % 50} :to a crowd member")
    assert len(redaction.recent) == 1 + 50 * 4
    for c in crowd:
        c.disconnect("bye")
    # Left: the channel messages of #stay, which its operator may still redact.
    assert len(redaction.recent) == 1 + 50
    stay.take()
    stay.send("PRIVMSG #stay :mine")
    net.server.disconnect(stay.user, "bye")
    assert len(redaction.recent) == 0


def test_what_can_still_be_redacted_is_kept(tmp_path: Path) -> None:
    net, redaction = _net(tmp_path)
    alice = net.client("alice", ["message-tags", "echo-message"])
    bob = net.client("bob", ["message-tags", "echo-message"])
    net.joined("#room", alice, bob)
    private = _msgids(alice.send("PRIVMSG bob :secret"))[0]
    public = _msgids(bob.send("PRIVMSG #room :oops"))[0]
    carol = net.client("carol")
    carol.disconnect("bye")  # a departure sweeps; alice and bob are still here
    assert len(redaction.recent) == 2
    assert redaction.recent.get(public) is not None
    assert redaction.recent.get(private) is not None
