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


@pytest.mark.postgresql_only
async def test_a_search_leaves_the_transactions_later_queries_without_its_budget(
    reader: HistoryReader, engine: Engine,
) -> None:
    from ircish.store.search import answer

    request = SearchRequest(channels=(("#chan", None),), viewer=ANY,
                            phrases=phrases_of("harbour"), sender_like=None)
    names = ("statement_timeout", "max_parallel_workers_per_gather", "plan_cache_mode", "jit",
             "random_page_cost")
    with engine.connect() as conn, conn.begin():
        before = {n: conn.exec_driver_sql(f"SHOW {n}").scalar() for n in names}
        found = answer(conn, request)
        assert found.records and not found.stopped
        assert {n: conn.exec_driver_sql(f"SHOW {n}").scalar() for n in names} == before
        workers = conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()
        assert workers != "0"


# ---- the same lines as the rule says, whichever plan finds them -----------------------

_WORDS = ("red", "sea", "sky", "dawn", "blue", "gull")
# Names that mean something to tsquery or to SQL: the store's place lexemes quote them.
_CHANNELS = ("#a", "#b", "#c'q", "#d\\x|y&!z:*(<->)")
_PEOPLE = ("alice", "bob", "carol")


def _tokens(text: str) -> list[str]:
    return text.lower().split()


def _has(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))


async def test_every_search_finds_what_the_rule_says(engine: Engine) -> None:
    # Several channels, each maybe from an epoch, with the asker's private lines, bounds
    # and limits, against the rule written out here: the newest ``limit`` by id (oldest
    # from ``after``), then in (time, id) order. Times are shuffled against ids, so an
    # order by time where the rule says id would show.
    import random

    from ircish.core.events import micros_of
    from ircish.store.keys import channel_key

    rng = random.Random(5)
    writer = HistoryWriter(engine)
    lines: dict[str, tuple[str, int, str, str | None, str | None, str]] = {}
    for i in range(400):
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
        us = rng.randrange(10_000)
        msgid = f"r{i}"
        command = rng.choice(("PRIVMSG", "PRIVMSG", "NOTICE"))
        if rng.random() < 0.25:
            a, b = rng.sample(_PEOPLE, 2)
            writer.submit(msg(text, nick=a, target=b, msgid=msgid, when=at(us), command=command,
                              session=f"s-{a}", recipient_session=f"s-{b}"))
            lines[msgid] = (text, micros_of(at(us)), "", f"s-{a}", f"s-{b}", command)
        else:
            channel = rng.choice(_CHANNELS)
            if rng.random() < 0.1:
                writer.submit(join(rng.choice(_PEOPLE), channel, when=at(us)))
            writer.submit(msg(text, target=channel, msgid=msgid, when=at(us), command=command))
            lines[msgid] = (text, micros_of(at(us)), channel_key(channel), None, None, command)
    assert await writer.flush()
    with engine.connect() as conn:
        row_id = dict(conn.exec_driver_sql(
            "SELECT msgid, id FROM history WHERE msgid LIKE 'r%%'").all())
    reader = HistoryReader(engine)

    for _ in range(80):
        chosen = rng.sample(_CHANNELS, rng.randint(0, len(_CHANNELS)))
        # A channel asked twice (two casings) with two epochs counts from the older.
        if chosen and rng.random() < 0.2:
            chosen.append(chosen[0].upper())
        channels = tuple(
            (c, None if rng.random() < 0.5 else micros_of(at(rng.randrange(10_000))))
            for c in chosen)
        viewer = Viewer(rng.choice(_PEOPLE))
        viewer = Viewer(viewer.nick, None, f"s-{viewer.nick}")
        private = rng.random() < 0.6
        phrases = tuple(
            (rng.choice(_WORDS),) if rng.random() < 0.7 else tuple(rng.sample(_WORDS, 2))
            for _ in range(rng.randint(1, 2)))
        after = micros_of(at(rng.randrange(10_000))) if rng.random() < 0.25 else None
        before = micros_of(at(rng.randrange(10_000))) if rng.random() < 0.25 else None
        limit = rng.choice((1, 3, 10, 50))
        request = SearchRequest(channels=channels, viewer=viewer, private=private,
                                phrases=phrases, after=after, before=before, limit=limit)

        epochs: dict[str, int | None] = {}
        for name, since in channels:
            key = channel_key(name)
            old = epochs.get(key, since)
            epochs[key] = None if old is None or since is None else min(old, since)
        wanted = []
        for msgid, (text, us, key, sent, received, _cmd) in lines.items():
            in_channel = key in epochs and (epochs[key] is None or us >= epochs[key])
            mine = private and viewer.session in (sent, received)
            if not (in_channel or mine):
                continue
            if (after is not None and us < after) or (before is not None and us > before):
                continue
            if all(_has(_tokens(text), p) for p in phrases):
                wanted.append(msgid)
        wanted.sort(key=lambda m: row_id[m], reverse=after is None)
        expected = sorted(wanted[:limit], key=lambda m: (lines[m][1], row_id[m]))

        (found,) = await reader.ask(request)
        assert not found.stopped
        assert ids(found) == expected, request


@pytest.mark.postgresql_only
async def test_postgresql_plans_each_search_for_its_own_words(engine: Engine) -> None:
    # psycopg prepares a statement after five runs; PostgreSQL would then plan it once for
    # any words (a generic plan), where the best plan depends on how common they are.
    from ircish.store.search import answer

    writer = HistoryWriter(engine)
    for i in range(300):
        writer.submit(msg(f"w{i % 3} w{i % 7} filler", msgid=f"g{i}", when=at(i)))
    assert await writer.flush()
    with engine.connect() as conn, conn.begin():
        for i in range(12):
            request = SearchRequest(channels=(("#chan", None),), viewer=ANY,
                                    phrases=((f"w{i % 3}",), (f"w{i % 7}",)), limit=5)
            assert answer(conn, request).records
        plans = conn.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%search_vector%%'").all()
    # Prepared at the sixth run: the seven after it were each planned for their words.
    assert plans and sum(custom for _generic, custom in plans) >= 5
    assert all(generic == 0 for generic, _custom in plans)
