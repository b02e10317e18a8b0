"""IRCv3 labeled-response through the one reply buffer, for every command in the table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from ircish.core.replies import Replies, add_tag, batch_lines
from ircish.core.state import User
from ircish.passwords import hash_password
from ircish.protocol import Message, parse
from tests.core.helpers import Client, FakeSink, Net, make_server

T = TypeVar("T")

CAPS = ["labeled-response", "batch", "message-tags", "server-time", "echo-message"]

# Parameters that make each command do its real work; a verb missing here is sent
# bare (and must still be answered with a label: usually 461).
SAMPLES = {
    "AWAY": ":gone fishing",
    "CAP": "LIST",
    "INVITE": "other #c",
    "ISON": "other nobody",
    "JOIN": "#fresh",
    "KICK": "#c other :bye",
    "HELP": "PRIVMSG",
    "KILL": "other :out",
    "LIST": "",
    "MODE": "#c +b x!*@*",
    "MONITOR": "+ other,nobody",
    "NAMES": "#c",
    "NICK": "renamed",
    "NOTICE": "other :hi",
    "OPER": "nobody secret",
    "PART": "#c :later",
    "PING": "token",
    "PONG": "token",
    "PRIVMSG": "#c :hi",
    "SETNAME": ":new name",
    "TAGMSG": "#c",
    "TOPIC": "#c :new topic",
    "USERHOST": "other",
    "WHO": "#c",
    "WHOIS": "other",
    "WHOWAS": "nobody",
}


def check_labeled(lines: list[Message], label: str) -> None:
    """The reply is an ACK, one labeled line, or one labeled-response batch."""
    assert lines, "a labeled command got no reply at all"
    head = lines[0]
    assert head.tags.get("label") == label, head
    assert all("label" not in m.tags for m in lines[1:]), lines
    if head.command == "BATCH" and head.params[1:2] == ["labeled-response"]:
        ref = head.params[0][1:]
        assert lines[-1].command == "BATCH" and lines[-1].params == ["-" + ref]
        open_refs = {ref}
        for m in lines[1:-1]:
            assert m.tags.get("batch") in open_refs, m
            if m.command == "BATCH" and m.params[0].startswith("+"):
                open_refs.add(m.params[0][1:])
    else:
        assert len(lines) == 1, lines


def labeled_net(tmp_path: Path) -> tuple[Net, Client, Client]:
    net = Net(make_server(tmp_path))
    asker = net.client("asker", CAPS)
    other = net.client("other")
    net.joined("#c", asker, other)
    return net, asker, other


def verbs(tmp_path: Path) -> list[str]:
    return sorted(make_server(tmp_path).commands)


@pytest.mark.parametrize("verb", verbs(Path("/nonexistent")))
def test_every_command_answers_with_its_label(tmp_path: Path, verb: str) -> None:
    net, asker, _ = labeled_net(tmp_path)
    assert verb in net.server.commands
    line = f"@label=L{verb} {verb} {SAMPLES.get(verb, '')}".rstrip()
    lines = asker.send(line)
    if asker.sink.closed is not None:
        return  # QUIT: the ERROR that ends the link is no reply to label
    check_labeled(lines, f"L{verb}")


def test_no_reply_is_an_ack(tmp_path: Path) -> None:
    _, asker, _ = labeled_net(tmp_path)
    [ack] = asker.send("@label=abc PONG x")
    assert ack.command == "ACK" and ack.tags == {"label": "abc"} and ack.params == []


def test_one_reply_is_labeled_and_several_are_batched(tmp_path: Path) -> None:
    _, asker, _ = labeled_net(tmp_path)
    [pong] = asker.send("@label=p PING hello")
    assert pong.command == "PONG" and pong.tags["label"] == "p"
    joined = asker.send("@label=j JOIN #another")
    check_labeled(joined, "j")
    assert joined[0].command == "BATCH"
    assert [m.command for m in joined[1:-1]] == ["JOIN", "353", "366"]


def test_the_label_goes_on_the_echo_only(tmp_path: Path) -> None:
    _, asker, other = labeled_net(tmp_path)
    [echo] = asker.send("@label=e PRIVMSG other :hi")
    assert echo.command == "PRIVMSG" and echo.tags["label"] == "e"
    [delivered] = other.take()
    assert "label" not in delivered.tags


def test_a_label_without_the_capability_is_ignored(tmp_path: Path) -> None:
    net = Net(make_server(tmp_path))
    plain = net.client("plain", ["batch", "message-tags"])
    [pong] = plain.send("@label=x PING y")
    assert pong.command == "PONG" and "label" not in pong.tags
    assert plain.send("@label=x PONG y") == []


def test_unknown_commands_and_registration_errors_are_labeled(tmp_path: Path) -> None:
    net, asker, _ = labeled_net(tmp_path)
    [unknown] = asker.send("@label=u NOSUCHVERB")
    assert unknown.command == "421" and unknown.tags == {"label": "u"}
    early = Client(net.server)
    early.send("CAP LS 302", "CAP REQ :labeled-response")
    early.take()
    [refused] = early.send("@label=r WHOIS x")
    assert refused.command == "451" and refused.tags == {"label": "r"}


def test_without_batch_the_label_is_on_the_first_line(tmp_path: Path) -> None:
    net = Net(make_server(tmp_path))
    asker = net.client("asker", ["labeled-response"])
    lines = asker.send("@label=n JOIN #x")
    assert [m.command for m in lines] == ["JOIN", "353", "366"]
    assert lines[0].tags == {"label": "n"}
    assert all("label" not in m.tags for m in lines[1:])


def user_with(caps: set[str]) -> tuple[User, FakeSink]:
    sink = FakeSink()
    user = User(sink, "127.0.0.1", "h", 0.0)
    user.caps = caps
    return user, sink


def test_a_nested_batch_keeps_its_own_references() -> None:
    user, sink = user_with({"batch"})
    replies = Replies("srv", user, "lbl")
    inner = list(batch_lines("srv", "in1", "chathistory", ["#c"], [b":a PRIVMSG #c :x\r\n"]))
    replies.add(b"".join(inner))
    replies.add(b":srv NOTICE me :after\r\n")
    lines = [parse(raw) for raw in b"".join(sink.chunks).decode().split("\r\n") if raw]
    assert lines == []  # nothing leaves before finish
    replies.finish()
    lines = [parse(raw) for raw in b"".join(sink.chunks).decode().split("\r\n") if raw]
    check_labeled(lines, "lbl")
    outer = lines[0].params[0][1:]
    assert [m.tags.get("batch") for m in lines[1:-1]] == [outer, "in1", outer, outer]


def test_label_values_are_escaped() -> None:
    user, sink = user_with(set())
    replies = Replies("srv", user, "a b;c")
    replies.finish()
    [ack] = [parse(raw) for raw in b"".join(sink.chunks).decode().split("\r\n") if raw]
    assert ack.tags == {"label": "a b;c"}
    assert add_tag(b"@x=1 :s PING\r\n", b"y=2") == b"@y=2;x=1 :s PING\r\n"


class Deferred:
    """An Offload that holds every job until the test lets it run (as the shell would)."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def run_blocking(
        self, user: User | None, work: Callable[[], T], then: Callable[[T], None]
    ) -> None:
        self.jobs.append(lambda: then(work()))

    def call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None:
        self.jobs.append(then)

    def run_all(self) -> None:
        while self.jobs:
            self.jobs.pop(0)()


def test_an_answer_given_after_offloaded_work_keeps_its_label(tmp_path: Path) -> None:
    net = Net(make_server(tmp_path, {"opers": [{"name": "op", "password_hash":
                                                hash_password("right"), "host": "*"}]}))
    offload = net.server.offload = Deferred()
    asker = net.client("asker", CAPS)
    assert asker.send("@label=o1 OPER op wrong") == []  # nothing until the check is done
    offload.run_all()
    check_labeled(asker.take(), "o1")
    assert asker.send("@label=o2 OPER op right") == []
    offload.run_all()
    lines = asker.take()
    check_labeled(lines, "o2")
    assert [m.command for m in lines[1:-1]] == ["MODE", "381"]


@pytest.mark.parametrize("verb", ["PRIVMSG", "NOTICE", "TAGMSG"])
def test_a_labeled_message_to_oneself_labels_only_the_echo(tmp_path: Path, verb: str) -> None:
    net = Net(make_server(tmp_path))
    me = net.client("me", CAPS)
    params = "me" if verb == "TAGMSG" else "me :hi"
    delivered, echo = me.send(f"@label=s1 {verb} {params}")
    assert delivered.command == echo.command == verb
    assert "label" not in delivered.tags and echo.tags["label"] == "s1"
