"""Events survive the trip to the history worker unchanged."""

from __future__ import annotations

import pickle
from datetime import datetime

from ircish.core.events import (
    LeaveEvent,
    NickEvent,
    TopicEvent,
    as_datetime,
    micros_from,
    micros_of,
)
from ircish.history import codec
from tests.store.helpers import BASE, at, chan_state, join, msg


def test_every_stored_event_kind_round_trips() -> None:
    events = [
        msg("hi", when=at(123_456), tags={"+draft/react": "x"}),
        msg("psst", target="bob", when=at(7), account="acct"),
        join("alice", when=at(1)),
        LeaveEvent("l1", micros_of(at(2)), "bob!b@h", "bob", "#chan", "kick", "bye", by="op!o@h"),
        NickEvent("n1", micros_of(at(3)), "bob!b@h", "bob", "robert", ("#a", "#b")),
        TopicEvent("t1", micros_of(at(4)), "op!o@h", "op", "#chan", "new topic"),
        chan_state(),
    ]
    back = codec.decode(pickle.loads(pickle.dumps(codec.encode(events))))
    assert back == events
    assert [type(e) for e in back] == [type(e) for e in events]


def test_times_are_microseconds_exactly_both_ways() -> None:
    assert micros_of(BASE) == 1_767_268_800_000_000
    assert as_datetime(micros_of(at(123_457))) == at(123_457)
    # A naive datetime from a plugin is taken as UTC.
    assert micros_of(datetime(2026, 1, 1, 12, 0, 0)) == micros_of(BASE)
    # A clock reading keeps its microseconds (no float drift on the way).
    assert micros_from(1_767_268_800.123456) == 1_767_268_800_123_456
