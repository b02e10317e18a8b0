"""Random and mutated client lines through the core: nothing raises, state stays whole.

A hypothesis state machine connects, registers and drops fake clients and has them
send lines built from the command table's verbs with real-looking parameters
(channels, nicks, masks, mode strings, numbers in other scripts, huge numbers,
empty and spaced parameters), some of them mutated byte-wise and all of them
framed and decoded the way the network shell does. After every step:

- the handler guard in ``Server.handle`` logged nothing (no handler raised),
- every channel member is a connected, registered user, and the users' channel
  lists and the channels' member lists (and sink groups) agree,
- ``server.users`` holds exactly the registered users, by casefolded nick,
- no channel is empty unless persistent, the LUSERS mode counts match,
- every line queued for a client parses and fits the line limit.

The default profile (``tests/conftest.py``) keeps this to a few seconds; for a long
manual run: ``IRCISH_FUZZ=long .venv/bin/python -m pytest tests/fuzz -p no:cacheprovider``.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from ircish.core import chathistory as ch
from ircish.core.commands import Command
from ircish.core.server import Server
from ircish.core.state import PREFIXES, User
from ircish.protocol import Message, ProtocolError, parse
from ircish.protocol.casemap import casefold
from ircish.protocol.framing import TOO_LONG, LineFramer, decode_line
from ircish.testing import test_config as make_config
from tests.core.helpers import Client

BASE = Path(tempfile.gettempdir())
MAX_CLIENTS = 6

NICKS = ["alice", "Alice", "bob", "[x]", "{x}", "c\\d", "c|d", "nick_", "a" * 40, "0abc",
         "-x", "ü", "é", "*", "$", ":alice", "bot", "WelcomeBot", ""]
CHANNELS = ["#a", "#A", "#[x]", "#{x}", "#lobby", "#a,#b", "#", "##", "&x", "0", "#" + "c" * 80,
            "#ü", "#a\x07", "+x", "#a b"]
MASKS = ["*!*@*", "*", "alice!*@*", "!@", "*!*@localhost", "a!b@c", "*!*@*.*", "?*", "%"]
MODES = ["+o", "-o", "+v", "+ov", "+b", "-b", "+k", "-k", "+l", "-l", "+i", "+m", "+n", "+s",
         "+t", "+P", "-P", "+imnst", "+lk", "-lk", "+x", "+", "-", "+-+", "+B", "+w", "+iw", "o",
         "b", "+bbbbb"]
NUMBERS = ["0", "1", "5", "-1", "+5", "²", "٣", "१२", "99999999999999999999999999", "1e3",
           " 5", "5 ", "0x10", "", "*", "1.5", str(2**63), str(-(2**63))]
TIMESTAMPS = ["timestamp=2026-01-01T00:00:00.000Z", "timestamp=x", "msgid=abc", "msgid=",
              "*", "timestamp=9999-99-99T99:99:99Z", "timestamp=²"]
CH_SUBS = ["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS", "latest", "NOPE", ""]
EXTRA_VERBS = ["CHATHISTORY", "FOO", "001", "privmsg", "Join", "CAP", "CAP", "CAP"]
CAP_ARGS = ["LS", "LS 302", "LIST", "REQ", "END", "ACK", "NAK", "LS ²", "LS 99999999999"]
CAPS = ["multi-prefix", "-multi-prefix", "server-time", "message-tags", "echo-message",
        "away-notify", "userhost-in-names", "draft/chathistory", "batch", "cap-notify", "bogus",
        "-", ""]

TEXT_CHARS = st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",))
TEXT = st.text(TEXT_CHARS, max_size=40)


def atom() -> st.SearchStrategy[str]:
    """One parameter as a client might send it."""
    return st.one_of(
        st.sampled_from(NICKS), st.sampled_from(CHANNELS), st.sampled_from(MASKS),
        st.sampled_from(MODES), st.sampled_from(NUMBERS), st.sampled_from(TIMESTAMPS),
        st.sampled_from(CH_SUBS), st.sampled_from(CAPS),
        st.lists(st.sampled_from(CHANNELS + NICKS), min_size=1, max_size=5).map(",".join),
        st.text(TEXT_CHARS, min_size=1, max_size=12).filter(lambda w: " " not in w),
    )


@st.composite
def command_line(draw: st.DrawFn, verbs: list[str]) -> str:
    verb = draw(st.sampled_from(verbs))
    if verb.upper() == "CAP":
        head = [draw(st.sampled_from(CAP_ARGS))]
    elif verb.upper() == "CHATHISTORY":
        head = [draw(st.sampled_from(CH_SUBS)), draw(st.sampled_from(CHANNELS + NICKS)),
                draw(st.sampled_from(TIMESTAMPS))]
    elif verb.upper() == "MODE":
        head = [draw(st.sampled_from(CHANNELS + NICKS)), draw(st.sampled_from(MODES))]
    else:
        head = []
    middles = draw(st.lists(atom(), max_size=6))
    words = [verb, *head, *middles]
    if draw(st.booleans()):
        trailing = draw(st.one_of(TEXT, st.sampled_from(CAPS + CHANNELS + NICKS),
                                  st.lists(st.sampled_from(CAPS), max_size=4).map(" ".join)))
        words.append(":" + trailing)
    tags = draw(st.sampled_from(["", "", "", "@+draft/reply=x ", "@label=1;+typing=active ",
                                 "@time=2026-01-01T00:00:00Z ", "@a=" + "x" * 600 + " "]))
    return tags + " ".join(words)


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "flip", "duplicate"]))
        if op == "insert":
            data = data[:at] + draw(st.sampled_from(
                [b" ", b":", b"@", b",", b"\xff", b"\xc3", b"\t", b"\x00", b"#", b"*",
                 b"\xe2\x80\x8b", b"\r\n", b" :"])) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)):]
        elif op == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
        else:
            data = data[:at] + data[at:] * 2
    return data


def fake_chathistory(server: Server, user: User, msg: Message) -> None:
    """The core half of CHATHISTORY, as the history service runs it, with no store."""
    request = ch.parse_request(server, user, msg, 100)
    if request is None:
        return
    if request.sub != "TARGETS" and not ch.may_read(server, user, request.target):
        ch.invalid_target(server, user, request)
        return
    ch.send_history(server, user, request.target, [])


class CoreFuzz(RuleBasedStateMachine):
    clients = Bundle("clients")

    def __init__(self) -> None:
        super().__init__()
        self.server = Server(make_config(BASE, {"channels": {"auto_join": ["#lobby"]},
                                                "limits": {"whowas_entries": 5}}))
        self.server.commands["CHATHISTORY"] = Command("CHATHISTORY", fake_chathistory)
        self.verbs = sorted(self.server.commands) + EXTRA_VERBS
        self.framers: dict[int, LineFramer] = {}
        self.connected: list[Client] = []
        self.serial = 0

    # ---- rules ------------------------------------------------------------------------

    @precondition(lambda self: len(self.connected) < MAX_CLIENTS)
    @rule(target=clients, register=st.booleans(), caps=st.lists(st.sampled_from(CAPS[:9]),
                                                                 max_size=4))
    def connect(self, register: bool, caps: list[str]) -> Client:
        self.serial += 1
        client = Client(self.server, host=f"h{self.serial}.example")
        self.framers[id(client)] = LineFramer()
        self.connected.append(client)
        if register:
            if caps:
                self.feed(client, b"CAP LS 302\r\nCAP REQ :" + " ".join(caps).encode() + b"\r\n")
            self.feed(client, f"NICK u{self.serial}\r\nUSER u 0 * :real\r\nCAP END\r\n".encode())
        return client

    @rule(client=clients, data=st.data())
    def send(self, client: Client, data: st.DataObject) -> None:
        line = data.draw(command_line(self.verbs), label="line")
        self.feed(client, line.encode() + b"\r\n")

    @rule(client=clients, data=st.data())
    def send_mutated(self, client: Client, data: st.DataObject) -> None:
        line = data.draw(command_line(self.verbs), label="line")
        self.feed(client, mutate(line.encode(), data.draw) + b"\r\n")

    @rule(client=clients, oper=st.booleans())
    def set_oper(self, client: Client, oper: bool) -> None:
        # What a successful OPER does, without a password check in every example.
        if client.user in self.server.connections:
            self.server.set_user_mode(client.user, "o", oper)

    @rule(client=consumes(clients))
    def drop(self, client: Client) -> None:
        client.disconnect("fuzz drop")
        if client in self.connected:
            self.connected.remove(client)

    def feed(self, client: Client, raw: bytes) -> None:
        """What ircish.net.connection does with bytes from a socket."""
        for chunk in self.framers[id(client)].feed(raw):
            if client.user not in self.server.connections:
                return  # QUIT, KILL or a SendQ close: the shell stops reading
            if chunk is TOO_LONG:
                continue
            assert isinstance(chunk, bytes)
            try:
                msg = parse(decode_line(chunk))
            except ProtocolError:
                continue
            self.server.handle(client.user, msg)
        if client.user not in self.server.connections and client in self.connected:
            self.connected.remove(client)

    # ---- invariants -------------------------------------------------------------------

    @invariant()
    def channels_and_users_agree(self) -> None:
        server = self.server
        for key, channel in server.channels.items():
            assert key == channel.key == casefold(channel.name)
            assert channel.members or channel.persistent, channel.name
            for member, held in channel.members.items():
                assert member in server.connections or member.bot, (channel.name, member)
                assert member.registered
                assert member.channels.get(key) is channel
                assert set(held) <= {mode for mode, _ in PREFIXES}
            grouped = [sink for group in channel.sinks_by_mask.values() for sink in group]
            assert all(channel.sinks_by_mask.values())
            assert sorted(map(id, grouped)) == sorted(id(m.sink) for m in channel.members)
            for member in channel.members:
                assert member.sink in channel.sinks_by_mask[member.tagmask]
        for user in server.connections:
            for key, channel in user.channels.items():
                assert server.channels.get(key) is channel, (user, key)
                assert user in channel.members

    @invariant()
    def users_are_the_registered_connections(self) -> None:
        server = self.server
        for key, user in server.users.items():
            assert key == user.key == casefold(user.nick)
            assert user.registered and (user in server.connections or user.bot)
        for user in server.connections:
            if user.registered:
                assert server.users.get(user.key) is user
        modes = Counter(m for u in server.connections for m in u.modes)
        for mode in "io":
            assert server.user_mode_counts[mode] == modes[mode], mode

    @invariant()
    def replies_are_well_formed(self) -> None:
        for client in list(self.connected):
            # Client.take parses every line and checks the 512-byte limit.
            client.take()


@pytest.fixture
def quiet_guard(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger="ircish.core")
    return caplog


def test_core_survives_random_lines(quiet_guard: pytest.LogCaptureFixture) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    class Guarded(CoreFuzz):
        def teardown(self) -> None:
            errors = [r.getMessage() for r in quiet_guard.records
                      if r.name == "ircish.core" and r.levelno >= logging.ERROR]
            quiet_guard.clear()
            assert not errors, errors

        @invariant()
        def no_handler_raised(self) -> None:
            failing = [r for r in quiet_guard.records if r.levelno >= logging.ERROR]
            assert not failing, "\n".join(
                r.getMessage() + "\n" + (logging.Formatter().formatException(r.exc_info)
                                          if r.exc_info else "") for r in failing[:1])

    current = settings()
    run_state_machine_as_test(
        Guarded,
        settings=settings(current, max_examples=max(current.max_examples // 5, 10),
                          stateful_step_count=30),
    )
