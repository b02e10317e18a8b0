"""History queries: every subcommand's window, ties, and who may see what."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ircish.core.chathistory import PLAYBACK_KINDS as ALL_KINDS
from ircish.core.chathistory import Viewer
from ircish.core.events import MessageEvent
from ircish.core.events import micros_of as to_micros
from ircish.store.reader import HistoryReader
from ircish.store.writer import HistoryWriter

from .helpers import Reads, at, join, mref, msg, tref

ANY = Viewer("someone")


@pytest.fixture
async def reader(engine: Engine) -> Reads:
    """#chan holds m0..m9 at 0,10,...,90 µs; m4b shares m4's microsecond."""
    writer = HistoryWriter(engine)
    for i in range(10):
        writer.submit(msg(f"line {i}", msgid=f"m{i}", when=at(i * 10)))
        if i == 4:
            writer.submit(msg("line 4b", msgid="m4b", when=at(40)))
    writer.submit(join("bob", when=at(45)))
    writer.submit(msg("elsewhere", target="#other", when=at(50)))
    assert await writer.flush()
    return Reads(HistoryReader(engine))


def texts(records: list) -> list[str]:  # type: ignore[type-arg]
    return [r.text.removeprefix("line ") for r in records]


async def test_latest(reader: Reads) -> None:
    assert texts(await reader.latest("#CHAN", ANY, 3)) == ["7", "8", "9"]
    assert texts(await reader.latest("#chan", ANY, 3, after=mref("m7"))) == ["8", "9"]
    assert texts(await reader.latest("#chan", ANY, 3, after=tref(to_micros(at(85))))) == ["9"]


async def test_equal_timestamps_keep_insertion_order(reader: Reads) -> None:
    lines = await reader.latest("#chan", ANY, 100)
    assert texts(lines) == ["0", "1", "2", "3", "4", "4b", "5", "6", "7", "8", "9"]
    assert lines[4].micros == lines[5].micros
    # Paging by msgid across the tie loses nothing and repeats nothing.
    assert texts(await reader.before("#chan", ANY, mref("m4b"), 1)) == ["4"]
    assert texts(await reader.after("#chan", ANY, mref("m4"), 1)) == ["4b"]
    # A timestamp bound counts the whole microsecond.
    assert texts(await reader.before("#chan", ANY, tref(to_micros(at(40))), 2)) == ["2", "3"]
    assert texts(await reader.after("#chan", ANY, tref(to_micros(at(30))), 2)) == ["4", "4b"]


async def test_before_and_after(reader: Reads) -> None:
    assert texts(await reader.before("#chan", ANY, mref("m3"), 10)) == ["0", "1", "2"]
    assert texts(await reader.before("#chan", ANY, mref("m9"), 2)) == ["7", "8"]
    assert texts(await reader.after("#chan", ANY, mref("m6"), 2)) == ["7", "8"]
    assert texts(await reader.after("#chan", ANY, tref(to_micros(at(75))), 10)) == [
        "8",
        "9",
    ]


async def test_around(reader: Reads) -> None:
    assert texts(await reader.around("#chan", ANY, mref("m6"), 5)) == [
        "4b",
        "5",
        "6",
        "7",
        "8",
    ]
    # Nothing before the first line: the whole limit goes after it.
    assert texts(await reader.around("#chan", ANY, mref("m0"), 3)) == ["0", "1", "2"]
    assert texts(await reader.around("#chan", ANY, tref(to_micros(at(65))), 2)) == [
        "6",
        "7",
    ]


async def test_between_both_directions(reader: Reads) -> None:
    forward = await reader.between("#chan", ANY, mref("m1"), mref("m6"), 3)
    assert texts(forward) == ["2", "3", "4"]
    backward = await reader.between("#chan", ANY, mref("m6"), mref("m1"), 3)
    assert texts(backward) == ["4", "4b", "5"]
    mixed = await reader.between("#chan", ANY, tref(to_micros(at(15))), mref("m4b"), 10)
    assert texts(mixed) == ["2", "3", "4"]


async def test_unknown_refs_and_targets_give_nothing(reader: Reads) -> None:
    assert await reader.before("#chan", ANY, mref("nope"), 10) == []
    assert await reader.latest("#empty", ANY, 10) == []
    # A msgid from another channel does not anchor this one.
    other = await reader.latest("#other", ANY, 1)
    assert await reader.before("#chan", ANY, mref(other[0].msgid), 10) == []


async def test_events_only_when_asked(reader: Reads) -> None:
    assert "JOIN" not in {r.kind for r in await reader.latest("#chan", ANY, 100)}
    lines = await reader.latest("#chan", ANY, 100, kinds=ALL_KINDS)
    assert [r.kind for r in lines].count("JOIN") == 1
    assert lines[-6].kind == "JOIN" and lines[-6].nick == "bob"


async def test_original_time_and_tags_come_back(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("tagged", msgid="t1", when=at(123_456), tags={"+draft/reply": "m1"}))
    await writer.flush()
    record = await Reads(HistoryReader(engine)).by_msgid("#chan", ANY, "t1")
    assert record is not None
    assert record.time == at(123_456)
    assert record.tags == {"+draft/reply": "m1"}
    assert record.source == "alice!alice@host"


def dm(text: str, sender: str, recipient: str, msgid: str, us: int, **extra: str) -> MessageEvent:
    """A private line between two connections whose sessions are ``s-<nick>``."""
    return msg(text, nick=sender, target=recipient, msgid=msgid, when=at(us),
               session=f"s-{sender.lower()}", recipient_session=f"s-{recipient.lower()}",
               **extra)


def conn(nick: str, account: str | None = None) -> Viewer:
    return Viewer(nick, account, f"s-{nick.lower()}")


async def test_private_history_is_only_for_its_two_parties(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(dm("to bob", "alice", "bob", "p1", 1))
    writer.submit(dm("to alice", "Bob", "Alice", "p2", 2))
    writer.submit(dm("carol to bob", "carol", "bob", "p3", 3))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    assert texts(await reader.latest("bob", conn("alice"), 10)) == ["to bob", "to alice"]
    assert texts(await reader.latest("alice", conn("bob"), 10)) == ["to bob", "to alice"]
    # Carol asking for "bob" sees only her own conversation with bob.
    assert texts(await reader.latest("bob", conn("carol"), 10)) == ["carol to bob"]
    assert await reader.latest("alice", conn("carol"), 10) == []
    assert await reader.by_msgid("bob", conn("carol"), "p1") is None
    assert await reader.before("bob", conn("carol"), mref("p2"), 10) == []


async def test_a_nick_alone_shows_no_private_line(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(dm("secret", "alice", "bob", "p1", 1))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    # A later connection that registered "ALICE" is somebody else.
    for viewer in (Viewer("ALICE"), Viewer("ALICE", None, "s-other")):
        assert await reader.latest("bob", viewer, 10) == []
        assert await reader.by_msgid("bob", viewer, "p1") is None
        assert await reader.targets(viewer, 0, to_micros(at(1000)), 10) == []
    # The connection that sent it still sees it, under a new nick too.
    assert texts(await reader.latest("bob", Viewer("alice2", None, "s-alice"), 10)) == ["secret"]


async def test_lines_without_sessions_are_for_accounts_only(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    # As written before revision 0002: no session on either side.
    writer.submit(msg("old", nick="alice", target="bob", account="acct-a", msgid="o1"))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    assert await reader.latest("bob", Viewer("alice", None, "s-alice"), 10) == []
    assert await reader.latest("alice", Viewer("bob", None, "s-bob"), 10) == []
    assert texts(await reader.latest("bob", Viewer("alice", "acct-a"), 10)) == ["old"]


async def test_a_party_with_an_account_is_known_by_it(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(dm("secret", "alice", "bob", "s1", 1, account="alice-acct"))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    # Someone else now using the nick "alice" without the account sees nothing...
    assert await reader.latest("bob", Viewer("alice", None, "s-new"), 10) == []
    # ...alice logged in does (on another connection too), and bob by his session.
    assert texts(await reader.latest("bob", Viewer("alice", "alice-acct"), 10)) == ["secret"]
    assert texts(await reader.latest("alice", conn("bob"), 10)) == ["secret"]


async def test_targets_lists_conversations_and_joined_channels(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("old", target="#chan", when=at(10)))
    writer.submit(dm("hey", "Bob", "alice", "t1", 20))
    writer.submit(dm("hello", "alice", "carol", "t2", 30))
    writer.submit(dm("x", "dave", "erin", "t3", 40))  # not alice's
    writer.submit(msg("new", target="#chan", when=at(50)))
    writer.submit(msg("other", target="#other", when=at(60)))
    await writer.flush()
    reader = Reads(HistoryReader(engine))
    me = conn("alice")
    lo, hi = to_micros(at(0)), to_micros(at(1000))
    found = await reader.targets(me, lo, hi, 10, channels=["#chan"])
    assert [(t.name, t.micros - to_micros(at(0))) for t in found] == [
        ("Bob", 20),
        ("carol", 30),
        ("#chan", 50),
    ]
    # A target is listed when its latest line is in the window, either way round:
    # #chan has a line in (5, 45) µs but its latest (50) is later, so it is not.
    found = await reader.targets(me, to_micros(at(45)), to_micros(at(5)), 10, channels=["#chan"])
    assert [t.name for t in found] == ["Bob", "carol"]
    found = await reader.targets(me, to_micros(at(25)), to_micros(at(55)), 10, channels=["#chan"])
    assert [t.name for t in found] == ["carol", "#chan"]
    assert len(await reader.targets(me, lo, hi, 2, channels=["#chan"])) == 2


async def test_since_hides_lines_before_a_channels_epoch(reader: Reads) -> None:
    epoch = to_micros(at(40))  # m4 and m4b are at 40: they are kept
    new = {"since": epoch}
    assert texts(await reader.latest("#chan", ANY, 100, **new))[:2] == ["4", "4b"]
    assert texts(await reader.before("#chan", ANY, mref("m6"), 100, **new)) == [
        "4", "4b", "5"
    ]
    assert await reader.after("#chan", ANY, tref(0), 100, **new) == await reader.latest(
        "#chan", ANY, 100, **new
    )
    # An older line is invisible as a position too.
    assert await reader.around("#chan", ANY, mref("m1"), 10, **new) == []
    assert await reader.between("#chan", ANY, mref("m1"), mref("m6"), 10, **new) == []
    assert texts(await reader.between("#chan", ANY, tref(0), mref("m6"), 10, **new)) == [
        "4", "4b", "5"
    ]
    assert await reader.by_msgid("#chan", ANY, "m3", since=epoch) is None
    assert await reader.count("#chan", ANY, tref(0), None, 100, since=epoch) == 7
    found = await reader.by_nick(["#chan", "#other"], ANY, tref(to_micros(at(1000))), 100,
                                 "alice", 100, since={"#chan": to_micros(at(85))})
    assert [texts(per) for per in found] == [["9"], ["elsewhere"]]
    listed = await reader.targets(ANY, 0, to_micros(at(1000)), 10, channels=["#chan"],
                                  since={"#chan": to_micros(at(91))})
    assert listed == []
