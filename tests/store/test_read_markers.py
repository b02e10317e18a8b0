"""Read markers in the database: per account, forward only, gone with the account."""

from __future__ import annotations

from sqlalchemy import Engine

from ircish.accounts.records import NO_SUCH, OK, AccountRequest
from ircish.store.accounts import answer_in_transaction as ask


def _create(engine: Engine, name: str) -> None:
    assert ask(engine, AccountRequest("create", (name, 1, None, None, None, None))) == OK


def test_markers_are_kept_per_account_and_never_move_back(engine: Engine) -> None:
    _create(engine, "Alice")
    _create(engine, "bob")
    assert ask(engine, AccountRequest("read_markers", ("alice",))) == ()
    assert ask(engine, AccountRequest("read_marker_set", ("ALICE", "#chan", 2_000))) == 2_000
    # An older time answers the stored one and changes nothing.
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "#chan", 1_000))) == 2_000
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "#chan", 2_000))) == 2_000
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "bob", 5))) == 5
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "#chan", 3_000))) == 3_000
    assert ask(engine, AccountRequest("read_markers", ("alice",))) == (("#chan", 3_000),
                                                                       ("bob", 5))
    assert ask(engine, AccountRequest("read_markers", ("bob",))) == ()


def test_unknown_account_and_dropped_account(engine: Engine) -> None:
    assert ask(engine, AccountRequest("read_markers", ("ghost",))) == NO_SUCH
    assert ask(engine, AccountRequest("read_marker_set", ("ghost", "#a", 1))) == NO_SUCH
    _create(engine, "alice")
    ask(engine, AccountRequest("read_marker_set", ("alice", "#a", 1)))
    assert ask(engine, AccountRequest("delete", ("alice",))) == OK
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM read_markers").scalar() == 0
    _create(engine, "alice")  # the same name again starts with no markers
    assert ask(engine, AccountRequest("read_markers", ("alice",))) == ()
