"""SEARCH (soju.im/search) over real sockets: who finds what, the batch and its tags,
labels, and FAIL for bad attributes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.history.errors import StoreUnavailable
from ircish.protocol import Message
from ircish.testing import RunningServer, start_server
from tests.accounts.conftest import accounts_config, registered
from tests.history.conftest import ALL_CAPS, ClientFactory
from tests.ircclient import RawClient

CAPS = [*ALL_CAPS, "soju.im/search", "account-tag", "labeled-response"]


async def search(client: RawClient, attrs: str) -> tuple[Message, list[Message]]:
    """Send SEARCH; the batch opener and the lines inside (or the FAIL and [])."""
    await client.send(f"SEARCH {attrs}")
    opener = await client.expect(
        lambda m: (m.command == "BATCH" and m.params[0].startswith("+")) or m.command == "FAIL")
    if opener.command == "FAIL":
        return opener, []
    assert opener.params[1:] == ["soju.im/search"]
    ref = opener.params[0][1:]
    lines = await client.collect_until("BATCH")
    assert lines[-1].params == ["-" + ref]
    body = lines[:-1]
    assert all(m.tags.get("batch") == ref for m in body)
    return opener, body


def texts(lines: list[Message]) -> list[str]:
    return [m.params[-1] for m in lines]


async def _channel(hconnect: ClientFactory) -> tuple[RawClient, RawClient]:
    alice = await hconnect("alice", CAPS)
    bob = await hconnect("bob", [*CAPS, "echo-message"])
    for client in (alice, bob):
        await client.send("JOIN #harbour")
        await client.expect("366")
    for text in ("the blue boat at dawn", "a red boat", "nothing here", "Blue BOAT again"):
        await bob.send(f"PRIVMSG #harbour :{text}")
        await bob.expect("PRIVMSG")
    return alice, bob


async def test_the_capability_is_offered(hconnect: ClientFactory) -> None:
    client = await hconnect("probe", ["soju.im/search"])
    assert any("soju.im/search" in m.params[-1] for m in client.seen if m.command == "CAP")


async def test_a_member_finds_lines_with_their_tags(hconnect: ClientFactory) -> None:
    alice, _ = await _channel(hconnect)
    _, lines = await search(alice, "in=#harbour;text=blue\\sboat")
    assert texts(lines) == ["the blue boat at dawn", "Blue BOAT again"]
    assert all(m.command == "PRIVMSG" and m.source.startswith("bob!") for m in lines)
    assert all("msgid" in m.tags and m.tags["time"].endswith("Z") for m in lines)
    # Without `in`: every channel the asker is in.
    _, lines = await search(alice, "text=boat;limit=2")
    assert texts(lines) == ["a red boat", "Blue BOAT again"]
    _, lines = await search(alice, "text=boat;from=BOB;after=2000-01-01T00:00:00.000Z;limit=1")
    assert texts(lines) == ["the blue boat at dawn"]
    opener, lines = await search(alice, "text=submarine")
    assert opener.command == "BATCH" and lines == []


async def test_a_non_member_finds_nothing_of_a_channel(hconnect: ClientFactory) -> None:
    await _channel(hconnect)
    outsider = await hconnect("outsider", CAPS)
    fail, _ = await search(outsider, "in=#harbour;text=boat")
    assert fail.command == "FAIL" and fail.params[:3] == ["SEARCH", "INVALID_PARAMS", "in"]
    # Nor through a search of everything: it is not one of the outsider's channels.
    _, lines = await search(outsider, "text=boat")
    assert lines == []
    # The same answer for a channel that does not exist.
    fail, _ = await search(outsider, "in=#nowhere;text=boat")
    assert fail.params[:3] == ["SEARCH", "INVALID_PARAMS", "in"]


async def test_a_former_member_no_longer_finds_the_channel(hconnect: ClientFactory) -> None:
    alice, _ = await _channel(hconnect)
    await alice.send("PART #harbour")
    await alice.expect("PART")
    _, lines = await search(alice, "text=boat")
    assert lines == []


@pytest.mark.parametrize(("attrs", "which"), [
    ("colour=blue", "colour"),
    ("text=a;text=b", "text"),
    ("text=", "text"),
    ("in", "in"),
    ("limit=0", "limit"),
    ("limit=lots", "limit"),
    ("limit=-5", "limit"),
    ("after=yesterday", "after"),
    ("before=2026-13-45T00:00:00.000Z", "before"),
    ("after=2026-01-01T00:00:00", "after"),  # no zone
    ('text="*"', "text"),  # no word in it
    ("text=" + "\\s".join(f"w{i}" for i in range(17)), "text"),  # too many words
])
async def test_bad_attributes_are_refused(hconnect: ClientFactory, attrs: str, which: str
                                          ) -> None:
    client = await hconnect("picky", CAPS)
    fail, _ = await search(client, attrs)
    assert fail.command == "FAIL"
    assert fail.params[:3] == ["SEARCH", "INVALID_PARAMS", which]


async def test_no_attributes_at_all(hconnect: ClientFactory) -> None:
    client = await hconnect("empty", CAPS)
    await client.send("SEARCH")
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["SEARCH", "INVALID_PARAMS"]


async def test_injection_attempts_are_plain_words(hconnect: ClientFactory) -> None:
    alice, bob = await _channel(hconnect)
    await bob.send('PRIVMSG #harbour :odd "NEAR(a b)" OR col:on * -x')
    await bob.expect("PRIVMSG")
    for attrs, found in [
        ('text="NEAR(a\\sb)"', ['odd "NEAR(a b)" OR col:on * -x']),
        ("text=boat\\sOR\\snothing", []),
        ("text=col:on\\s-x", ['odd "NEAR(a b)" OR col:on * -x']),
        ("text=boa*", []),  # no prefix queries: "boa" is a word of its own
    ]:
        opener, lines = await search(alice, f"in=#harbour;{attrs}")
        assert opener.command == "BATCH", opener
        assert texts(lines) == found


async def test_a_labeled_search_gets_its_label(hconnect: ClientFactory) -> None:
    alice, _ = await _channel(hconnect)
    await alice.send("PING before")
    await alice.expect("PONG")
    await alice.send("@label=s1 SEARCH in=#harbour;text=red", "PING after")
    lines = await alice.collect_until("PONG")
    # The search's batch sits inside the labeled-response batch; the PONG comes after.
    outer = lines[0]
    assert outer.command == "BATCH" and outer.tags.get("label") == "s1"
    assert outer.params[1:] == ["labeled-response"]
    inner = [m for m in lines if m.command == "BATCH" and m.params[1:] == ["soju.im/search"]]
    assert len(inner) == 1 and inner[0].tags.get("batch") == outer.params[0][1:]
    assert [m.params[-1] for m in lines if m.command == "PRIVMSG"] == ["a red boat"]


async def test_private_lines_follow_the_account_not_the_nick(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "sesame-sesame")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob", CAPS)
        await alice.send("PRIVMSG bob :the vault code is 4242")
        await bob.expect("PRIVMSG")
        await alice.send("QUIT :bye")
        await alice.read_until_closed()

        # Mallory takes the nick alice, without the account.
        mallory = await RawClient.connect(srv.port)
        await mallory.register("alice", CAPS)
        _, lines = await search(mallory, "text=vault")
        assert lines == []
        _, lines = await search(mallory, "in=bob;text=vault")
        assert lines == []

        # Alice, back on a new connection and logged in, finds it; so does bob.
        again = await RawClient.connect(srv.port)
        await again.register("alice2", CAPS)
        await again.send("PRIVMSG NickServ :IDENTIFY alice sesame-sesame")
        await again.expect("900")
        _, lines = await search(again, "text=vault")
        assert texts(lines) == ["the vault code is 4242"]
        _, lines = await search(bob, "in=alice;text=vault")
        assert texts(lines) == ["the vault code is 4242"]
        for client in (bob, mallory, again):
            await client.aclose()


async def test_no_store_is_an_internal_error_and_the_server_goes_on(
    hserver: RunningServer, hconnect: ClientFactory
) -> None:
    alice, _ = await _channel(hconnect)
    service = hserver.owner("search")

    async def restarting(*args: object, **kwargs: object) -> list[object]:
        raise StoreUnavailable("the history worker is not running (restarting)")

    service.store.ask = restarting  # type: ignore[method-assign]
    fail, _ = await search(alice, "in=#harbour;text=boat")
    assert fail.params[:2] == ["SEARCH", "INTERNAL_ERROR"]
    await alice.send("PING :still")
    await alice.expect("PONG")
