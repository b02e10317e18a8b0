"""Every numeric parameter a client sends is read by one ASCII-only helper, so
digits that ``int()`` refuses get the command's own error instead of a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.core.helpers import Net, commands, first


@pytest.fixture(autouse=True)
def no_handler_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, logger="ircish.core")
    yield
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_cap_ls_with_a_superscript_version(net: Net) -> None:
    client = net.raw_client()
    msgs = client.send("CAP LS ²")
    assert commands(msgs) == ["CAP"]
    assert client.user.cap_version == 0


@pytest.mark.parametrize("raw", ["²", "999999²9999", "٣", "0", "99999999999999999999"])
def test_channel_limit_must_be_an_ascii_number(net: Net, raw: str) -> None:
    alice = net.client("alice")
    net.joined("#c", alice)
    reply = first(alice.send(f"MODE #c +l {raw}"), "696")
    assert reply.params[1:4] == ["#c", "l", raw]
    assert net.server.find_channel("#c").limit is None


def test_channel_limit_accepts_ascii(net: Net) -> None:
    alice = net.client("alice")
    net.joined("#c", alice)
    alice.send("MODE #c +l 0007")
    assert net.server.find_channel("#c").limit == 7


def test_whowas_count_with_a_superscript_lists_everything(net: Net) -> None:
    for _ in range(3):
        net.client("ghost").disconnect()
    asker = net.client("asker")
    msgs = asker.send("WHOWAS ghost ²")
    assert commands(msgs).count("314") == 3 and commands(msgs)[-1] == "369"


@pytest.mark.parametrize("count, expected", [("0", 3), ("-1", 3), ("2", 2), ("1", 1)])
def test_whowas_count_zero_or_negative_means_all(net: Net, count: str, expected: int) -> None:
    for _ in range(3):
        net.client("ghost").disconnect()
    asker = net.client("asker")
    assert commands(asker.send(f"WHOWAS ghost {count}")).count("314") == expected


def test_list_with_a_superscript_user_count(net: Net) -> None:
    alice = net.client("alice")
    net.joined("#c", alice)
    msgs = alice.send("LIST >²")
    assert commands(msgs)[0] == "321" and commands(msgs)[-1] == "323"


def test_numeric_verbs_before_registration(net: Net) -> None:
    client = net.raw_client()
    assert client.send("001 x") == []
    assert commands(client.send("²")) == ["451"]
