"""The one name-to-id lookup that metadata, read markers and channel registrations share."""

from __future__ import annotations

from sqlalchemy import Engine

from ircish.accounts.records import NO_SUCH, OK, AccountRequest
from ircish.store.account_ids import account_id
from ircish.store.accounts import answer_in_transaction as ask


def test_an_account_is_found_by_any_casing_of_its_name_and_a_missing_one_is_none(
        engine: Engine) -> None:
    assert ask(engine, AccountRequest("create", ("Alice", 1, None, None, None, None))) == OK
    with engine.connect() as conn:
        found = account_id(conn, "ALICE")
        assert isinstance(found, int)
        assert account_id(conn, "alice") == found
        assert account_id(conn, "ghost") is None


def test_every_request_that_names_an_account_reaches_the_same_one(engine: Engine) -> None:
    assert ask(engine, AccountRequest("create", ("Alice", 1, None, None, None, None))) == OK
    assert ask(engine, AccountRequest("metadata_set", ("ALICE", "url", "x"))) == OK
    assert ask(engine, AccountRequest("metadata_get", ("alice",))) == (("url", "x"),)
    assert ask(engine, AccountRequest("read_marker_set", ("aLiCe", "#a", 5))) == 5
    assert ask(engine, AccountRequest("channel_register", ("#a", "ALICE", 1, "alice", 5))) == OK
    for op, args in (("metadata_get", ("ghost",)), ("read_markers", ("ghost",)),
                     ("channel_register", ("#b", "ghost", 1, "ghost", 5))):
        assert ask(engine, AccountRequest(op, args)) == NO_SUCH
