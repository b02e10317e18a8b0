"""The pure half of CHATHISTORY: references, and stored lines sent again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ircish.core import chathistory as ch
from ircish.core.state import (
    TAG_ACCOUNT,
    TAG_EXTENDED_JOIN,
    TAG_MESSAGE_TAGS,
    TAG_SERVER_TIME,
    User,
)
from ircish.protocol import Message, parse
from tests.core.helpers import Client, make_server


@dataclass
class Line:
    kind: str
    target: str = "#c"
    text: str = ""
    param: str | None = None
    source: str = "nick!user@host"
    msgid: str = "id1"
    micros: int = 1_767_268_800_123_456  # 2026-01-01T12:00:00.123456Z
    tags: dict[str, str] = field(default_factory=dict)
    account: str | None = None


class Sink:
    def send(self, data: bytes) -> None: ...

    def close(self, error: str) -> None: ...


def user(mask: int = 0) -> User:
    u = User(Sink(), "127.0.0.1", "host", 0.0)
    u.tagmask = mask
    return u


def test_references() -> None:
    assert ch.parse_ref("msgid=abc") == ("msgid", "abc")
    assert ch.parse_ref("timestamp=2026-01-01T12:00:00.123Z") == (
        "timestamp",
        1_767_268_800_123_000,
    )
    assert ch.parse_ref("timestamp=2026-01-01T12:00:00") is None  # no zone
    for bad in ("msgid=", "abc", "time=2026-01-01T12:00:00Z", "timestamp=soon"):
        assert ch.parse_ref(bad) is None


def test_time_tag_is_the_original_time_to_the_millisecond() -> None:
    assert ch.format_time(1_767_268_800_123_456) == "2026-01-01T12:00:00.123Z"
    assert ch.format_time(0) == "1970-01-01T00:00:00.000Z"


def test_each_kind_is_sent_as_its_line() -> None:
    cases = [
        (Line("PRIVMSG", text="hi there"), "PRIVMSG #c :hi there"),
        (Line("NOTICE", text="n"), "NOTICE #c n"),
        (Line("JOIN"), "JOIN #c"),
        (Line("PART", text="bye now"), "PART #c :bye now"),
        (Line("PART"), "PART #c"),
        (Line("KICK", param="victim", text="out"), "KICK #c victim out"),
        (Line("QUIT", text="gone"), "QUIT gone"),
        (Line("NICK", param="newnick"), "NICK newnick"),
        (Line("TOPIC", text="a topic"), "TOPIC #c :a topic"),
    ]
    for line, expected in cases:
        data = ch.encode_line(user(), line)
        assert data == f":nick!user@host {expected}\r\n".encode()


def test_tags_follow_what_the_recipient_negotiated() -> None:
    line = Line("PRIVMSG", text="x", tags={"+draft/reply": "id0"})
    full = ch.encode_line(user(TAG_MESSAGE_TAGS | TAG_SERVER_TIME), line)
    assert full is not None
    msg = parse(full.decode())
    assert msg.tags == {
        "+draft/reply": "id0",
        "msgid": "id1",
        "time": "2026-01-01T12:00:00.123Z",
    }
    timed = parse(ch.encode_line(user(TAG_SERVER_TIME), line).decode())  # type: ignore[union-attr]
    assert timed.tags == {"time": "2026-01-01T12:00:00.123Z"}
    # A TAGMSG means nothing to a client without message-tags.
    assert ch.encode_line(user(TAG_SERVER_TIME), Line("TAGMSG")) is None



def test_a_limit_in_unicode_digits_is_invalid_params(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    client = Client(server)
    client.send("NICK a", "USER a 0 * :a")
    client.take()
    for raw in ("²", "999999²9999", "0"):
        request = Message("CHATHISTORY", ["LATEST", "#c", "*", raw])
        assert ch.parse_request(server, client.user, request, 50) is None
        fail = client.take()[-1]
        assert fail.command == "FAIL"
        assert fail.params[:4] == ["CHATHISTORY", "INVALID_PARAMS", "LATEST", raw]


def test_a_stored_join_in_its_extended_join_form() -> None:
    join = Line("JOIN", text="Real Name", account="acct")
    assert ch.encode_line(user(), join) == b":nick!user@host JOIN #c\r\n"
    assert ch.encode_line(user(TAG_EXTENDED_JOIN), join) == \
        b":nick!user@host JOIN #c acct :Real Name\r\n"
    anonymous = Line("JOIN", text="R")
    assert ch.encode_line(user(TAG_EXTENDED_JOIN), anonymous) == b":nick!user@host JOIN #c * R\r\n"
    # A JOIN stored before realnames were kept: an empty one.
    assert ch.encode_line(user(TAG_EXTENDED_JOIN), Line("JOIN")) == \
        b":nick!user@host JOIN #c * :\r\n"


def test_a_stored_line_carries_its_senders_account() -> None:
    said = Line("PRIVMSG", text="hi", account="acct")
    assert parse(ch.encode_line(user(TAG_ACCOUNT), said).decode()).tags == {"account": "acct"}
    assert parse(ch.encode_line(user(), said).decode()).tags == {}
    assert parse(ch.encode_line(user(TAG_ACCOUNT), Line("PRIVMSG", text="x")).decode()).tags \
        == {}
