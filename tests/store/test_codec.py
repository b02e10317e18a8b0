"""Events survive the trip to the history worker unchanged."""

from __future__ import annotations

import pickle
from datetime import datetime

from ircish.core.events import LeaveEvent, NickEvent, TopicEvent
from ircish.history import codec
from tests.store.helpers import BASE, at, chan_state, join, msg


def test_every_stored_event_kind_round_trips() -> None:
    events = [
        msg("hi", when=at(123_456), tags={"+draft/react": "x"}),
        msg("psst", target="bob", when=at(7), account="acct"),
        join("alice", when=at(1)),
        LeaveEvent("l1", at(2), "bob!b@h", "bob", "#chan", "kick", "bye", by="op!o@h"),
        NickEvent("n1", at(3), "bob!b@h", "bob", "robert", ("#a", "#b")),
        TopicEvent("t1", at(4), "op!o@h", "op", "#chan", "new topic"),
        chan_state(),
    ]
    back = codec.decode(pickle.loads(pickle.dumps(codec.encode(events))))
    assert back == events
    assert [type(e) for e in back] == [type(e) for e in events]


def test_a_naive_time_is_taken_as_utc() -> None:
    naive = msg("x", when=datetime(2026, 1, 1, 12, 0, 0))
    (back,) = codec.decode(codec.encode([naive]))
    assert back.time == BASE
