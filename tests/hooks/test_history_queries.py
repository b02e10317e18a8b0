"""The store's answers for api.history: a count and a nick's last lines, in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ircish.core.chathistory import PLAYBACK_KINDS as ALL_KINDS
from ircish.core.chathistory import Viewer
from ircish.core.events import micros_of as to_micros
from ircish.store import migrate
from ircish.store.database import open_engine
from ircish.store.reader import HistoryReader
from ircish.store.writer import HistoryWriter
from tests.store.helpers import Reads, Ref, at, join, msg, tref

ANY = Viewer("*")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(f"sqlite:///{tmp_path / 'history.db'}", busy_timeout_ms=200)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
async def reader(engine: Engine) -> Reads:
    """#chan: alice says 0..9 at 0,10,...,90 µs, Bob{ joins at 45; #other has one line."""
    writer = HistoryWriter(engine)
    for i in range(10):
        writer.submit(msg(f"line {i}", msgid=f"m{i}", when=at(i * 10)))
    writer.submit(join("Bob{", when=at(45)))
    writer.submit(msg("elsewhere", target="#other", when=at(50)))
    assert await writer.flush()
    return Reads(HistoryReader(engine))


def ref(us: int) -> Ref:
    return tref(to_micros(at(us)))


async def test_count_counts_messages_between_two_times(reader: Reads) -> None:
    assert await reader.count("#chan", ANY, ref(15), None, 1000) == 8
    assert await reader.count("#CHAN", ANY, ref(15), ref(60), 1000) == 4
    # The JOIN is not a message; the cap stops the count.
    assert await reader.count("#chan", ANY, ref(15), None, 3) == 3
    assert await reader.count("#other", ANY, ref(0), None, 1000) == 1
    assert await reader.count("#nowhere", ANY, ref(0), None, 1000) == 0


async def test_by_nick_finds_a_nick_in_a_recent_window(reader: Reads) -> None:
    sender = (await reader.latest("#chan", ANY, 1))[0].nick
    found = await reader.by_nick(["#chan", "#other"], ANY, ref(100), 50, sender, 2,
                                 kinds=ALL_KINDS)
    assert [[r.text for r in per] for per in found] == [["line 8", "line 9"], ["elsewhere"]]
    # Case-insensitive, and only the window before the reference is searched.
    joined = await reader.by_nick(["#chan"], ANY, ref(100), 50, "bob{", 5, kinds=ALL_KINDS)
    assert [r.kind for r in joined[0]] == ["JOIN"]
    assert await reader.by_nick(["#chan"], ANY, ref(100), 4, "bob{", 5, kinds=ALL_KINDS) == [[]]
