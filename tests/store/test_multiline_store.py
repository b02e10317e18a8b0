"""A draft/multiline message in the store: one row, its lines and concat offsets kept."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, func, select

from ircish.core.chathistory import Viewer
from ircish.core.multiline import split
from ircish.store.reader import HistoryReader
from ircish.store.schema import history
from ircish.store.writer import HistoryWriter

from .helpers import Reads, msg


async def test_one_row_with_line_feeds_and_the_concat_offsets(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    text = "hello\n\nhow is everyone?\nü ünïcode"
    offsets = (len("hello\n\nhow is "),)
    writer.submit(replace(msg(text, msgid="ml1", tags={"+draft/reply": "x"}), concat=offsets))
    writer.submit(msg("plain", msgid="p1"))
    await writer.flush()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(history)).scalar_one() == 2
    lines = await Reads(HistoryReader(engine)).latest("#chan", Viewer("alice"), 10)
    stored = {r.msgid: r for r in lines}
    record = stored["ml1"]
    assert record.text == text
    assert record.tags == {"+draft/reply": "x", "draft/multiline-concat": str(offsets[0])}
    assert split(record.text, (offsets[0],)) == [
        ("hello", False), ("", False), ("how is ", False), ("everyone?", True),
        ("ü ünïcode", False)]
    # A message without concat lines keeps its tags as they were.
    assert stored["p1"].tags == {}
