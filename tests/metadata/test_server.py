"""METADATA over real sockets, in memory (no [storage]): every subcommand, the bad
inputs the specification lists, notifications, the JOIN and registration batches."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from ircish.metadata.rules import Limits
from ircish.testing import RunningServer
from tests.ircclient import RawClient

CAP = "draft/metadata-3"
CAPS = [CAP, "batch"]
Connect = Callable[..., Awaitable[RawClient]]
_tokens = (f"sync{i}" for i in itertools.count())


async def _answer(client: RawClient, line: str) -> list[list[str]]:
    """Every line answering ``line`` as [command, *params] (a PING marks the end)."""
    token = next(_tokens)
    await client.send(line, f"PING :{token}")
    start = len(client.seen)
    await client.expect(lambda m: m.command == "PONG" and m.params[-1] == token)
    return [[m.command, *m.params] for m in client.seen[start:-1]]


async def _sync(client: RawClient) -> None:
    """Read every line sent so far (into ``client.seen``)."""
    token = next(_tokens)
    await client.send(f"PING :{token}")
    await client.expect(lambda m: m.command == "PONG" and m.params[-1] == token)


async def _join(client: RawClient, channel: str) -> list[list[str]]:
    """JOIN and everything after it (the burst, the metadata batch)."""
    return await _answer(client, f"JOIN {channel}")


def _unbatched(lines: list[list[str]]) -> list[list[str]]:
    """The lines of one batch, checked to be framed as a metadata batch."""
    assert lines[0][0] == "BATCH" and lines[0][1].startswith("+"), lines
    assert lines[-1] == ["BATCH", "-" + lines[0][1][1:]], lines
    return lines[1:-1]


async def test_own_keys_set_get_list_clear(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    assert await _answer(foo, "METADATA * SET display-name :Foo F") == [
        ["761", "foo", "foo", "display-name", "*", "Foo F"]]
    assert await _answer(foo, "METADATA foo SET avatar :https://x/a.png") == [
        ["761", "foo", "foo", "avatar", "*", "https://x/a.png"]]
    batch = await _answer(foo, "METADATA * GET avatar pronouns $bad")
    assert batch[0][2:] == ["metadata", "foo"]
    assert _unbatched(batch) == [
        ["761", "foo", "foo", "avatar", "*", "https://x/a.png"],
        ["766", "foo", "foo", "pronouns", "Key not set"],
        ["WARN", "METADATA", "INVALID_KEY", "$bad", "Invalid key"]]
    assert _unbatched(await _answer(foo, "METADATA * LIST")) == [
        ["761", "foo", "foo", "display-name", "*", "Foo F"],
        ["761", "foo", "foo", "avatar", "*", "https://x/a.png"]]
    # An empty value removes, like no value.
    assert await _answer(foo, "METADATA * SET avatar :") == [
        ["766", "foo", "foo", "avatar", "Key not set"]]
    assert _unbatched(await _answer(foo, "METADATA * CLEAR")) == [
        ["766", "foo", "foo", "display-name", "Key not set"]]
    assert _unbatched(await _answer(foo, "METADATA * LIST")) == []


async def test_bad_input_is_answered_as_the_spec_says(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)
    await _join(foo, "#chan")
    await _join(bar, "#chan")

    async def fail(line: str) -> list[str]:
        (answer,) = await _answer(bar, line)
        assert answer[:2] in (["FAIL", "METADATA"], ["WARN", "METADATA"]), answer
        return answer[2:-1]

    assert await fail("METADATA * SNEEZE") == ["INVALID_PARAMS", "SNEEZE"]
    assert await fail("METADATA *") == ["INVALID_PARAMS", "*"]
    assert await fail("METADATA * GET") == ["INVALID_PARAMS", "GET"]
    assert await fail("METADATA * SET $url$ :x") == ["INVALID_KEY", "$url$"]
    assert await fail("METADATA * SET Display :x") == ["INVALID_KEY", "Display"]
    assert await fail("METADATA * SET k :" + "x" * 257) == ["INVALID_VALUE", "k"]
    assert await fail("METADATA nobody LIST") == ["INVALID_TARGET", "nobody"]
    assert await fail("METADATA #nowhere GET url") == ["INVALID_TARGET", "#nowhere"]
    assert await fail("METADATA foo SET url :x") == ["KEY_NO_PERMISSION", "foo", "url"]
    assert await fail("METADATA foo CLEAR") == ["KEY_NO_PERMISSION", "foo", "*"]
    assert await fail("METADATA #chan SET url :x") == ["KEY_NO_PERMISSION", "#chan", "url"]
    assert await fail("METADATA foo SUB url") == ["INVALID_TARGET", "foo"]
    assert await fail("METADATA * UNSUB Bad!") == ["INVALID_KEY", "Bad!"]
    # Nothing changed, so nothing reached foo.
    await _sync(foo)
    assert [m for m in foo.seen if m.command in ("761", "766")] == []
    assert _unbatched(await _answer(foo, "METADATA * LIST")) == []


async def test_subscription_limit_and_list(connect: Connect) -> None:
    bar = await connect("bar", CAPS)
    keys = [f"k{i}" for i in range(49)]
    for start in range(0, 49, 10):
        answer = await _answer(bar, "METADATA * SUB " + " ".join(keys[start:start + 10]))
        assert answer[-1][:3] == ["774", "bar", "*ALL"]  # nothing to send: SYNC later
    answer = await _answer(bar, "METADATA * SUB k0 last over more")
    assert ["FAIL", "METADATA", "LIMIT_REACHED", "over", "50",
            "You may subscribe to 50 keys at most"] in answer
    ok = [key for line in answer if line[0] == "770" for key in line[2:]]
    assert ok == ["k0", "last"]
    subs = _unbatched(await _answer(bar, "METADATA * SUBS"))
    assert all(line[:2] == ["772", "bar"] for line in subs)
    assert sorted(key for line in subs for key in line[2:]) == sorted([*keys, "last"])
    assert await _answer(bar, "METADATA * UNSUB last never") == [
        ["771", "bar", "last", "never"]]


async def test_rate_limit(server: RunningServer, connect: Connect) -> None:
    # Slow enough that no token comes back while the test runs.
    server.owner("metadata").limits = Limits(rate_burst=3, rate_interval=3600)
    foo = await connect("foo", CAPS)
    for i in range(3):
        answer = await _answer(foo, f"METADATA * SET k{i} :v")
        assert answer[0][0] == "761", answer
    (limited,) = await _answer(foo, "METADATA * SET k3 :v")
    assert limited[:6] == ["FAIL", "METADATA", "RATE_LIMITED", "foo", "k3", "3600"]
    assert _unbatched(await _answer(foo, "METADATA * LIST")) == [
        ["761", "foo", "foo", f"k{i}", "*", "v"] for i in range(3)]


async def test_too_many_keys(server: RunningServer, connect: Connect) -> None:
    owner = server.owner("metadata")
    foo = await connect("foo", CAPS)
    user = server.app.core.find_user("foo")
    assert user is not None
    entries = owner.entries_of(user)
    for i in range(30):
        entries.values[f"k{i}"] = "v"
    (full,) = await _answer(foo, "METADATA * SET another :v")
    assert full[:5] == ["FAIL", "METADATA", "LIMIT_REACHED", "foo", "30"]
    assert await _answer(foo, "METADATA * SET k3 :changed") == [
        ["761", "foo", "foo", "k3", "*", "changed"]]


async def test_subscribers_who_see_the_target_are_told(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)       # shares #chan, subscribed
    quiet = await connect("quiet", CAPS)   # shares #chan, not subscribed
    far = await connect("far", CAPS)       # subscribed, shares nothing
    watcher = await connect("watcher", CAPS)  # subscribed, monitors foo
    for client in (bar, far, watcher):
        await _answer(client, "METADATA * SUB display-name")
    await _answer(watcher, "MONITOR + foo")
    for client in (foo, bar, quiet):
        await _join(client, "#chan")
    await _answer(foo, "METADATA * SET display-name :Foo")
    await _answer(foo, "METADATA * SET avatar :a.png")  # nobody subscribed to it
    for client in (bar, quiet, far, watcher):
        await _sync(client)
    for client in (bar, watcher):
        told = [m for m in client.seen if m.command in ("761", "766")]
        assert [m.params for m in told] == [[client.nick, "foo", "display-name", "*", "Foo"]]
    for client in (quiet, far):
        assert [m for m in client.seen if m.command in ("761", "766")] == []
    await _answer(foo, "METADATA * SET display-name")
    await _sync(bar)
    assert [m.params for m in bar.seen if m.command == "766"] == [
        ["bar", "foo", "display-name", "Key not set"]]
    # Channel keys: its operator sets them, its subscribed members hear of it.
    await _answer(bar, "METADATA * SUB url")
    assert await _answer(foo, "METADATA #chan SET url :https://chan") == [
        ["761", "foo", "#chan", "url", "*", "https://chan"]]
    await _sync(bar)
    assert [m.params for m in bar.seen if m.command == "761"][-1] == [
        "bar", "#chan", "url", "*", "https://chan"]


async def test_join_brings_a_batch_of_subscribed_keys(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)
    await _answer(bar, "METADATA * SUB display-name url")
    await _join(foo, "#chan")
    await _answer(foo, "METADATA * SET display-name :Foo")
    await _answer(foo, "METADATA * SET color :red")  # bar is not subscribed to it
    await _answer(foo, "METADATA #chan SET url :https://chan")
    assert [m for m in bar.seen if m.command == "761"] == []  # no channel in common yet
    joined = await _join(bar, "#chan")
    after = joined[[line[0] for line in joined].index("366") + 1:]
    batch = _unbatched(after)  # right after the names
    assert after[0][2:] == ["metadata", "#chan"]
    assert batch == [["761", "bar", "#chan", "url", "*", "https://chan"],
                     ["761", "bar", "foo", "display-name", "*", "Foo"]]
    # SYNC answers the same.
    assert _unbatched(await _answer(bar, "METADATA #chan SYNC")) == batch


async def test_whois_shows_the_keys_to_metadata_clients(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)
    plain = await connect("plain")
    await _answer(foo, "METADATA * SET display-name :Foo")
    whois = await _answer(bar, "WHOIS foo")
    assert ["760", "bar", "foo", "display-name", "*", "Foo"] in whois
    assert whois[-1][0] == "318" and whois.index(["760", "bar", "foo", "display-name", "*",
                                                   "Foo"]) < len(whois) - 1
    assert not [line for line in await _answer(plain, "WHOIS foo") if line[0] == "760"]


async def test_closed_and_hidden_channels(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)
    await _join(foo, "#chan")
    await _answer(foo, "METADATA #chan SET url :secret-url")
    assert _unbatched(await _answer(bar, "METADATA #chan GET url")) == [
        ["761", "bar", "#chan", "url", "*", "secret-url"]]  # an open channel is readable
    await _answer(foo, "MODE #chan +i")
    assert _unbatched(await _answer(bar, "METADATA #chan GET url")) == [
        ["WARN", "METADATA", "KEY_NO_PERMISSION", "#chan", "url", "Permission denied"]]
    assert _unbatched(await _answer(bar, "METADATA #chan LIST")) == [
        ["WARN", "METADATA", "KEY_NO_PERMISSION", "#chan", "*", "Permission denied"]]
    await _answer(foo, "MODE #chan -i+s")
    (answer,) = await _answer(bar, "METADATA #chan SYNC")
    assert answer[:4] == ["FAIL", "METADATA", "INVALID_TARGET", "#chan"]


async def test_set_before_registration_comes_back_in_the_burst(server: RunningServer) -> None:
    client = await RawClient.connect(server.port)
    await client.send("CAP LS 302")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS"
                        and m.params[2] != "*")
    tokens = [t for m in client.seen if m.command == "CAP" for t in m.params[-1].split()]
    caps = dict(token.partition("=")[::2] for token in tokens)
    assert "before-connect" in caps[CAP].split(",")
    await client.send(f"CAP REQ :{CAP} batch")
    assert (await client.expect("CAP")).params[1] == "ACK"
    assert await _answer(client, "METADATA * SET display-name :Early") == [
        ["761", "*", "*", "display-name", "*", "Early"]]
    (refused,) = await _answer(client, "METADATA #chan GET url")
    assert refused[:4] == ["FAIL", "METADATA", "INVALID_TARGET", "#chan"]
    await client.send("NICK early", "USER early 0 * :early", "CAP END")
    burst = [[m.command, *m.params] for m in await client.collect_until("376")]
    start = next(i for i, line in enumerate(burst) if line[0] == "BATCH")
    assert burst[start][2:] == ["metadata", "early"]
    assert burst[start + 1] == ["761", "early", "early", "display-name", "*", "Early"]
    assert burst[start + 2][0] == "BATCH"
    assert burst.index(burst[start]) > [line[0] for line in burst].index("001")
    assert "375" in [line[0] for line in burst[start:]]  # before the MOTD
    await client.aclose()


async def test_channel_keys_go_with_an_unregistered_channel(
    server: RunningServer, connect: Connect,
) -> None:
    foo = await connect("foo", CAPS)
    await _join(foo, "#chan")
    await _answer(foo, "METADATA #chan SET url :u")
    await _answer(foo, "PART #chan")
    assert "#chan" not in server.owner("metadata").channels
    await _join(foo, "#chan")
    assert _unbatched(await _answer(foo, "METADATA #chan LIST")) == []


async def test_a_watcher_gets_the_keys_of_a_user_coming_online(
    server: RunningServer, connect: Connect,
) -> None:
    watcher = await connect("watcher", CAPS)
    await _answer(watcher, "METADATA * SUB display-name")
    await _answer(watcher, "MONITOR + later")
    later = await RawClient.connect(server.port)
    await later.send("CAP LS 302", f"CAP REQ :{CAP} batch")
    await later.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    await _answer(later, "METADATA * SET display-name :Late")
    await later.send("NICK later", "USER later 0 * :later", "CAP END")
    await later.expect("376")
    await watcher.expect("730")
    after = await _answer(watcher, "METADATA * SUBS")
    assert _unbatched(after[:3]) == [["761", "watcher", "later", "display-name", "*", "Late"]]
    assert after[0][2:] == ["metadata", "later"]
    await later.aclose()


async def test_channel_keys_follow_a_rename(connect: Connect) -> None:
    foo = await connect("foo", [*CAPS, "draft/channel-rename"])
    await _join(foo, "#old")
    await _answer(foo, "METADATA #old SET url :u")
    await _answer(foo, "RENAME #old #new :moving")
    assert _unbatched(await _answer(foo, "METADATA #new LIST")) == [
        ["761", "foo", "#new", "url", "*", "u"]]
    (gone,) = await _answer(foo, "METADATA #old LIST")
    assert gone[:4] == ["FAIL", "METADATA", "INVALID_TARGET", "#old"]


async def test_dropping_the_capability_drops_the_subscriptions(connect: Connect) -> None:
    foo = await connect("foo", CAPS)
    bar = await connect("bar", CAPS)
    both = await connect("both", ["draft/metadata-2", *CAPS])
    for client in (bar, both):
        await _answer(client, "METADATA * SUB display-name")
    for client in (foo, bar, both):
        await _join(client, "#chan")
    for client in (foo, bar, both):
        await _sync(client)
    ack = await _answer(bar, "CAP REQ -draft/metadata-3")
    assert ack == [["CAP", "bar", "ACK", "-draft/metadata-3"]]
    # One draft dropped of two: the other still reads notifications.
    await _answer(both, "CAP REQ -draft/metadata-3")
    assert _unbatched(await _answer(both, "METADATA * SUBS")) == [
        ["772", "both", "display-name"]]
    await _answer(bar, "CAP REQ draft/metadata-3")
    # Back with the capability, bar starts as a new client does: subscribed to nothing.
    assert _unbatched(await _answer(bar, "METADATA * SUBS")) == []
    await _answer(foo, "METADATA * SET display-name :Foo")
    await _sync(bar)
    await _sync(both)
    assert [m for m in bar.seen if m.command == "761"] == []
    assert [m.params[-3:] for m in both.seen if m.command == "METADATA"] == [
        ["display-name", "*", "Foo"]]
