"""The store's search (ircish.store.search): words, phrases, filters, the limit, who finds
what, and user text that is never an operator; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ircish.core.chathistory import Viewer
from ircish.core.events import MessageEvent
from ircish.search.request import SearchAnswer, SearchRequest, like_nick, phrases_of
from ircish.store.reader import HistoryReader
from ircish.store.writer import HistoryWriter

from .helpers import at, join, msg

ANY = Viewer("someone")

_LINES = [
    # (msgid, µs, target, nick, account, text)
    ("a1", 10, "#chan", "alice", "acct-a", "The blue harbour at dawn"),
    ("a2", 20, "#chan", "bob", None, "harbour blue: closed today"),
    ("a3", 30, "#chan", "alice", "acct-a", "Blue skies, no harbour"),
    ("a4", 40, "#other", "carol", None, "the blue harbour elsewhere"),
    ("a5", 50, "#chan", "Dave[x]", None, "Ünïcödé café naïve 東京タワー"),
    ("a6", 60, "#chan", "bob", None, 'quotes "NEAR(x y)" OR -minus col:on star* end'),
    ("a7", 70, "#chan", "erin", None, "harbour master"),
]


@pytest.fixture
async def reader(engine: Engine) -> HistoryReader:
    writer = HistoryWriter(engine)
    for msgid, us, target, nick, account, text in _LINES:
        writer.submit(msg(text, msgid=msgid, when=at(us), target=target, nick=nick,
                          account=account))
    writer.submit(join("harbour", when=at(75)))
    writer.submit(msg("harbour notice", msgid="n1", when=at(80), command="NOTICE"))
    assert await writer.flush()
    return HistoryReader(engine)


async def search(reader: HistoryReader, text: str = "", *, channels: tuple[str, ...] = ("#chan",),
                 viewer: Viewer = ANY, **fields: object) -> SearchAnswer:
    sender = fields.get("sender")
    request = SearchRequest(
        channels=tuple((c, None) for c in channels), viewer=viewer,
        phrases=phrases_of(text),
        sender_like=like_nick(sender) if isinstance(sender, str) else None,
        **fields,  # type: ignore[arg-type]
    )
    (found,) = await reader.ask(request)
    assert isinstance(found, SearchAnswer) and not found.stopped
    return found


def ids(found: SearchAnswer) -> list[str]:
    return [r.msgid for r in found.records]


async def test_words_all_match_in_any_order_and_case(reader: HistoryReader) -> None:
    assert ids(await search(reader, "harbour")) == ["a1", "a2", "a3", "a7", "n1"]
    assert ids(await search(reader, "BLUE Harbour")) == ["a1", "a2", "a3"]
    assert ids(await search(reader, "harbour nowhere")) == []


async def test_a_quoted_phrase_keeps_its_order(reader: HistoryReader) -> None:
    assert ids(await search(reader, '"blue harbour"')) == ["a1"]
    assert ids(await search(reader, '"harbour blue"')) == ["a2"]
    assert ids(await search(reader, '"harbour blue" closed')) == ["a2"]


async def test_only_messages_are_found_not_joins(reader: HistoryReader) -> None:
    # A JOIN's stored text is the joiner's realname; it is no message.
    found = await search(reader, "harbour")
    assert {r.kind for r in found.records} == {"PRIVMSG", "NOTICE"}


async def test_channels_searched_are_only_those_asked(reader: HistoryReader) -> None:
    assert ids(await search(reader, "blue harbour", channels=("#other",))) == ["a4"]
    assert ids(await search(reader, "blue harbour", channels=("#chan", "#OTHER"))) == [
        "a1", "a2", "a3", "a4"]
    assert ids(await search(reader, "blue harbour", channels=())) == []


async def test_a_channels_epoch_hides_older_lines(reader: HistoryReader) -> None:
    from ircish.core.events import micros_of

    request = SearchRequest(channels=(("#chan", micros_of(at(25))),), viewer=ANY,
                            phrases=phrases_of("harbour"))
    (found,) = await reader.ask(request)
    assert ids(found) == ["a3", "a7", "n1"]


async def test_from_is_a_nick_or_an_account(reader: HistoryReader) -> None:
    assert ids(await search(reader, "harbour", sender="ALICE")) == ["a1", "a3", "n1"]
    assert ids(await search(reader, "harbour", sender="acct-a")) == ["a1", "a3"]
    assert ids(await search(reader, sender="bob")) == ["a2", "a6"]
    # A LIKE wildcard in a nick is a character, never a wildcard.
    assert ids(await search(reader, sender="b%")) == []
    assert ids(await search(reader, sender="dave[x]")) == ["a5"]


async def test_after_and_before_are_inclusive(reader: HistoryReader) -> None:
    from ircish.core.events import micros_of

    t = micros_of
    assert ids(await search(reader, "harbour", after=t(at(20)))) == ["a2", "a3", "a7", "n1"]
    assert ids(await search(reader, "harbour", before=t(at(20)))) == ["a1", "a2"]
    assert ids(await search(reader, "harbour", after=t(at(20)), before=t(at(30)))) == [
        "a2", "a3"]


async def test_limit_keeps_the_newest_or_those_from_after(reader: HistoryReader) -> None:
    from ircish.core.events import micros_of

    assert ids(await search(reader, "harbour", limit=2)) == ["a7", "n1"]
    # From ``after`` on, the search goes forward: the oldest from there.
    assert ids(await search(reader, "harbour", limit=2, after=micros_of(at(15)))) == [
        "a2", "a3"]
    # Without text it is a plain filter over the places, in the same orders.
    assert ids(await search(reader, limit=2)) == ["a7", "n1"]


async def test_unicode_words_fold_case_and_accents(reader: HistoryReader, engine: Engine
                                                   ) -> None:
    assert ids(await search(reader, "Ünïcödé café")) == ["a5"]
    assert ids(await search(reader, "東京タワー")) == ["a5"]
    assert ids(await search(reader, "CAFÉ"[:3] + "é")) == ["a5"]
    if engine.dialect.name == "sqlite":
        # FTS5's unicode61 folds every script's case and drops accents. PostgreSQL
        # folds as its LC_CTYPE does (the test cluster's is C: ASCII only) and keeps
        # accents.
        assert ids(await search(reader, "ÜNÏCÖDÉ")) == ["a5"]
        assert ids(await search(reader, "unicode naive")) == ["a5"]


@pytest.mark.parametrize("text", [
    '"', '""', '"""', "*", "star*", "NEAR(x y)", "NEAR(", "OR", "x OR y", "AND", "NOT",
    "-minus", "col:on", "text:harbour", "^harbour", "harbour)", "(harbour", "{col}",
    "'", "'; DROP TABLE history; --", "!harbour & blue | x", "harbour:*", "\\", "%", "_",
])
async def test_user_text_is_words_never_operators(reader: HistoryReader, text: str) -> None:
    # Nothing here may raise (an FTS5 or tsquery syntax error) or widen the match.
    words = {w for phrase in phrases_of(text) for w in phrase}
    if not words:
        # No word at all: the server refuses such a text (tests/search).
        assert phrases_of(text) == ()
        return
    found = await search(reader, text)
    for record in found.records:
        assert all(w.casefold() in record.text.casefold() for w in words)


async def test_operator_words_are_plain_words(reader: HistoryReader) -> None:
    # "OR" is the word "or", not FTS5's OR: only the line that says both matches.
    assert ids(await search(reader, "harbour OR quotes")) == []
    assert ids(await search(reader, "near OR minus")) == ["a6"]
    assert ids(await search(reader, "col:on")) == ["a6"]
    assert ids(await search(reader, "-minus")) == ["a6"]
    assert ids(await search(reader, "star*")) == ["a6"]
    assert ids(await search(reader, '"NEAR(x y)"')) == ["a6"]
    # A word that is only a prefix of another is not a prefix query.
    assert ids(await search(reader, "harb*")) == []


def dm(text: str, sender: str, recipient: str, msgid: str, us: int,
       **extra: str | None) -> MessageEvent:
    return msg(text, nick=sender, target=recipient, msgid=msgid, when=at(us),
               session=f"s-{sender.lower()}", recipient_session=f"s-{recipient.lower()}",
               **extra)  # type: ignore[arg-type]


async def test_private_lines_only_for_their_parties(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(dm("secret plan", "alice", "bob", "p1", 1, account="acct-a"))
    writer.submit(dm("secret reply", "bob", "alice", "p2", 2, recipient_account="acct-a"))
    writer.submit(dm("secret carol", "carol", "bob", "p3", 3))
    writer.submit(msg("secret in channel", msgid="c1", when=at(4), account="acct-a"))
    assert await writer.flush()
    reader = HistoryReader(engine)

    async def find(viewer: Viewer, **fields: object) -> list[str]:
        request = SearchRequest(channels=(), viewer=viewer, phrases=phrases_of("secret"),
                                **fields)  # type: ignore[arg-type]
        (found,) = await reader.ask(request)
        return ids(found)

    # Alice's account finds her conversation from any connection.
    assert await find(Viewer("alice", "acct-a", "s-new"), private=True) == ["p1", "p2"]
    # Bob's connection finds both his conversations.
    assert await find(Viewer("bob", None, "s-bob"), private=True) == ["p1", "p2", "p3"]
    assert await find(Viewer("bob", None, "s-bob"), private_with="carol") == ["p3"]
    # Mallory took the nick alice, without the account and on another connection.
    assert await find(Viewer("alice", None, "s-mallory"), private=True) == []
    assert await find(Viewer("alice", None, "s-mallory"), private_with="bob") == []
    # Channel lines are not private lines, even with the viewer's account on them.
    assert await find(Viewer("x", "acct-a", None), private_with="bob") == ["p1", "p2"]


async def test_a_search_over_its_budget_is_stopped(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    for i in range(20_000):
        writer.submit(msg(f"word{i % 7} filler", msgid=f"x{i}", when=at(i)))
    assert await writer.flush()
    reader = HistoryReader(engine)
    # A sender nobody is: every line of the channel is read and none found, which takes
    # longer than the smallest budget (1 ms on PostgreSQL) on any machine.
    request = SearchRequest(channels=(("#chan", None),), viewer=ANY, sender="nobody",
                            sender_like="nobody", budget_s=0.0)
    (found,) = await reader.ask(request)
    assert found == SearchAnswer((), stopped=True)
    # The reader is still usable after that (the statement's savepoint was undone).
    ok = SearchRequest(channels=(("#chan", None),), viewer=ANY, phrases=phrases_of("word3"),
                       limit=3)
    (found,) = await reader.ask(ok)
    assert not found.stopped and len(found.records) == 3


async def test_a_search_leaves_the_transactions_later_queries_without_its_budget(
    reader: HistoryReader, engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the budget is a PostgreSQL setting; SQLite's progress handler is removed")
    from ircish.store.search import answer

    request = SearchRequest(channels=(("#chan", None),), viewer=ANY,
                            phrases=phrases_of("harbour"), sender_like=None)
    with engine.connect() as conn, conn.begin():
        before = conn.exec_driver_sql("SHOW statement_timeout").scalar()
        found = answer(conn, request)
        assert found.records and not found.stopped
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == before
        workers = conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()
        assert workers != "0"
