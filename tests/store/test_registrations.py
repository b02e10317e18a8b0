"""ChanServ's registrations in the worker: ``channel_*`` account requests, one transaction each."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from ircish.accounts.records import (
    EXISTS,
    LIMIT,
    NO_SUCH,
    OK,
    AccountRequest,
    ChannelRegistration,
)
from ircish.store.accounts import answer_in_transaction as ask
from ircish.store.queries import load_channels
from ircish.store.schema import channels


def _account(engine: Engine, name: str) -> None:
    assert ask(engine, AccountRequest("create", (name, 1, None, "hash", None, None))) == OK


def _register(engine: Engine, channel: str, founder: str, most: int = 20) -> str:
    result: str = ask(engine, AccountRequest(
        "channel_register", (channel, founder, 5, f"{founder}!u@h", most)))
    return result


def test_register_once_per_channel_for_an_existing_account(engine: Engine) -> None:
    _account(engine, "Alice")
    assert _register(engine, "#Room", "alice") == OK
    assert _register(engine, "#room", "alice") == EXISTS  # casefolded key
    assert _register(engine, "#other", "nobody") == NO_SUCH
    assert ask(engine, AccountRequest("channel_list")) == [
        ChannelRegistration("#Room", "Alice", 5, "alice!u@h")]


def test_at_most_so_many_per_founder(engine: Engine) -> None:
    _account(engine, "alice")
    assert _register(engine, "#a", "alice", most=2) == OK
    assert _register(engine, "#b", "alice", most=2) == OK
    assert _register(engine, "#c", "alice", most=2) == LIMIT
    assert [r.channel for r in ask(engine, AccountRequest("channel_list"))] == ["#a", "#b"]


def test_drop_and_account_deletion(engine: Engine) -> None:
    _account(engine, "alice")
    _account(engine, "bob")
    for channel, founder in (("#a", "alice"), ("#b", "alice"), ("#c", "bob")):
        assert _register(engine, channel, founder) == OK
    assert ask(engine, AccountRequest("channel_drop", ("#A",))) == OK
    assert ask(engine, AccountRequest("channel_drop", ("#a",))) == NO_SUCH
    # Deleting an account deletes the registrations it founded, and only those.
    assert ask(engine, AccountRequest("delete", ("alice",))) == OK
    assert [r.channel for r in ask(engine, AccountRequest("channel_list"))] == ["#c"]


def test_loaded_channel_state_carries_the_founder(engine: Engine) -> None:
    _account(engine, "alice")
    with engine.begin() as conn:
        for key in ("#reg", "#plain"):
            conn.execute(insert(channels).values(key=key, name=key, modes="+nt", updated=1))
    assert _register(engine, "#reg", "alice") == OK
    with engine.connect() as conn:
        founders = {state.name: state.founder for state in load_channels(conn)}
    assert founders == {"#plain": None, "#reg": "alice"}
