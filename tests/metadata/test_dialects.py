"""draft/metadata-2 (the ircv3.net text) next to draft/metadata-3: each client hears
changes and errors in the words of the draft it negotiated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ircish.metadata.dialect import V2, V3, dialect_of
from ircish.testing import RunningServer
from tests.ircclient import RawClient
from tests.metadata.test_server import _answer, _join, _sync, _unbatched

Connect = Callable[..., Awaitable[RawClient]]
OLD = [V2.cap, "batch"]
NEW = [V3.cap, "batch"]


def test_a_client_asking_for_both_gets_the_newer() -> None:
    assert dialect_of({V2.cap, V3.cap}) is V3
    assert dialect_of({V2.cap}) is V2
    assert dialect_of(set()) is V3


async def test_both_drafts_are_offered_with_the_same_limits(server: RunningServer) -> None:
    client = await RawClient.connect(server.port)
    await client.send("CAP LS 302")
    await client.expect(lambda m: m.command == "CAP" and m.params[2] != "*")
    tokens = dict(t.partition("=")[::2] for m in client.seen if m.command == "CAP"
                  for t in m.params[-1].split())
    assert tokens[V2.cap] == tokens[V3.cap]
    assert "max-subs=50" in tokens[V2.cap].split(",")
    await client.aclose()


async def test_metadata_2_errors(connect: Connect) -> None:
    old = await connect("old", OLD)

    async def answer(line: str) -> list[str]:
        (reply,) = await _answer(old, line)
        return reply[:-1]

    assert await answer("METADATA * SNEEZE") == ["FAIL", "METADATA", "SUBCOMMAND_INVALID",
                                                  "SNEEZE"]
    assert await answer("METADATA *") == ["461", "old", "METADATA"]
    assert await answer("METADATA * SET $url$ :x") == ["FAIL", "METADATA", "KEY_INVALID",
                                                        "$url$"]
    assert await answer("METADATA * SET k :" + "x" * 300) == ["FAIL", "METADATA",
                                                               "VALUE_INVALID"]
    assert await answer("METADATA * SET unset") == ["FAIL", "METADATA", "KEY_NOT_SET", "old",
                                                     "unset"]
    assert await answer("METADATA * UNSUB Bad!") == ["FAIL", "METADATA", "KEY_INVALID", "Bad!"]
    assert _unbatched(await _answer(old, "METADATA * GET $x")) == [
        ["FAIL", "METADATA", "KEY_INVALID", "$x", "Invalid key"]]
    for start in range(0, 50, 10):
        # metadata-2 sends nothing after SUB when there is nothing to send.
        assert await _answer(old, "METADATA * SUB " + " ".join(
            f"k{i}" for i in range(start, start + 10)))
    assert ["FAIL", "METADATA", "TOO_MANY_SUBS", "over",
            "You may subscribe to 50 keys at most"] in await _answer(old, "METADATA * SUB over")


async def test_each_subscriber_hears_a_change_in_its_own_draft(connect: Connect) -> None:
    foo = await connect("foo", NEW)
    old = await connect("old", OLD)
    new = await connect("new", NEW)
    await _answer(foo, "METADATA * SET display-name :Foo")
    for client in (old, new):
        await _answer(client, "METADATA * SUB display-name")
    await _join(foo, "#chan")
    joined = await _join(old, "#chan")
    after = joined[[line[0] for line in joined].index("366") + 1:]
    assert _unbatched(after) == [["METADATA", "foo", "display-name", "*", "Foo"]]
    await _join(new, "#chan")
    await _answer(foo, "METADATA * SET display-name :Foo 2")
    await _answer(foo, "METADATA * SET display-name")
    for client in (old, new):
        await _sync(client)
    assert [[m.source, m.command, *m.params] for m in old.seen if m.command == "METADATA"][-2:] \
        == [["irc.test", "METADATA", "foo", "display-name", "*", "Foo 2"],
            ["irc.test", "METADATA", "foo", "display-name", "*"]]
    assert [[m.command, *m.params] for m in new.seen if m.command in ("761", "766")][-2:] == [
        ["761", "new", "foo", "display-name", "*", "Foo 2"],
        ["766", "new", "foo", "display-name", "Key not set"]]
