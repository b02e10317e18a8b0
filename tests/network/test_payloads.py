"""The worker's per-operation shortcuts (``ircish.network.db``) change no outcome.

``dumps`` is one shared encoder instead of ``json.dumps(op, separators=...)``
(which builds an encoder per call): the same text. ``NO_EFFECT`` lists the kinds
``_append`` does not hand to ``_apply``: neither ``effects.apply`` nor
``db._apply`` may touch a table for them, or a later node would read tables that
lack their effect.
"""

from __future__ import annotations

import json
from typing import Any

from ircish.network import db


class Recorder:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def fetchall(self) -> list[Any]:
        return []


def test_dumps_is_json_dumps() -> None:
    ops = [
        {
            "t": "msg",
            "text": 'héllo \udcff \x00 "quoted"',
            "tags": {"+k": "v=1;2"},
            "n": [1, 2.5, None, True, False],
            "account": None,
            "micros": 1 << 60,
        },
        {"t": "mode", "held": [["s1", "o"]], "lists": {"b": [["*!*@h", "a", 5]]}},
        {},
    ]
    for op in ops:
        assert db.dumps(op) == json.dumps(op, separators=(",", ":"))
        assert json.loads(db.dumps(op)) == json.loads(json.dumps(op))


def test_the_kinds_skipped_have_no_effect() -> None:
    base = {
        "session": "s1",
        "channel": "#x",
        "target": "#x",
        "node": "n1",
        "source": "a!u@h",
        "msgid": "m",
        "micros": 1,
        "command": "PRIVMSG",
        "text": "hi",
        "comment": "c",
        "reason": "r",
    }
    for kind in db.NO_EFFECT:
        cur = Recorder()
        db._apply(cur, {**base, "t": kind})  # type: ignore[arg-type]
        assert cur.statements == [], kind
    # ...while the kinds with an effect do write (the recorder sees it).
    for kind, more in (("away", {"away": "x"}), ("topic", {"topic": "t", "setter": "a"})):
        cur = Recorder()
        db._apply(cur, {**base, "t": kind, **more})  # type: ignore[arg-type]
        assert cur.statements, kind
