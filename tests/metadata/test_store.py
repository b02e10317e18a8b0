"""Metadata in the database (both backends): per account, per registered channel,
gone with the account or registration, following a renamed registration."""

from __future__ import annotations

from sqlalchemy import Engine

from ircish.accounts.records import NO_SUCH, OK, AccountRequest
from ircish.store.accounts import answer_in_transaction as ask


def _create(engine: Engine, name: str) -> None:
    assert ask(engine, AccountRequest("create", (name, 1, None, None, None, None))) == OK


def _register(engine: Engine, channel: str, founder: str) -> None:
    assert ask(engine, AccountRequest("channel_register",
                                      (channel, founder, 5, f"{founder}!u@h", 20))) == OK


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)


def test_account_keys_set_change_remove(engine: Engine) -> None:
    _create(engine, "Alice")
    _create(engine, "bob")
    assert ask(engine, AccountRequest("metadata_get", ("alice",))) == ()
    assert ask(engine, AccountRequest("metadata_set", ("ALICE", "avatar", "a.png"))) == OK
    assert ask(engine, AccountRequest("metadata_set", ("alice", "color", "red"))) == OK
    assert ask(engine, AccountRequest("metadata_set", ("alice", "avatar", "b.png"))) == OK
    assert ask(engine, AccountRequest("metadata_get", ("alice",))) == (("avatar", "b.png"),
                                                                       ("color", "red"))
    assert ask(engine, AccountRequest("metadata_set", ("alice", "color", None))) == OK
    assert ask(engine, AccountRequest("metadata_set", ("alice", "gone", None))) == OK
    assert ask(engine, AccountRequest("metadata_get", ("alice",))) == (("avatar", "b.png"),)
    assert ask(engine, AccountRequest("metadata_get", ("bob",))) == ()


def test_unknown_account_and_dropped_account(engine: Engine) -> None:
    assert ask(engine, AccountRequest("metadata_get", ("ghost",))) == NO_SUCH
    assert ask(engine, AccountRequest("metadata_set", ("ghost", "a", "b"))) == NO_SUCH
    _create(engine, "alice")
    ask(engine, AccountRequest("metadata_set", ("alice", "avatar", "a.png")))
    assert ask(engine, AccountRequest("delete", ("alice",))) == OK
    assert _count(engine, "account_metadata") == 0
    _create(engine, "alice")  # the same name again starts with no keys
    assert ask(engine, AccountRequest("metadata_get", ("alice",))) == ()


def test_registered_channels_keys(engine: Engine) -> None:
    _create(engine, "alice")
    assert ask(engine, AccountRequest("metadata_channel_set", ("#a", "url", "u"))) == NO_SUCH
    _register(engine, "#A", "alice")
    _register(engine, "#b", "alice")
    assert ask(engine, AccountRequest("metadata_channel_set", ("#a", "url", "u"))) == OK
    assert ask(engine, AccountRequest("metadata_channel_set", ("#A", "avatar", "x"))) == OK
    assert ask(engine, AccountRequest("metadata_channel_replace",
                                      ("#b", (("k1", "v1"), ("k2", "v2"))))) == OK
    assert ask(engine, AccountRequest("metadata_channels")) == (
        ("#a", "avatar", "x"), ("#a", "url", "u"), ("#b", "k1", "v1"), ("#b", "k2", "v2"))
    assert ask(engine, AccountRequest("metadata_channel_replace", ("#b", ()))) == OK
    assert ask(engine, AccountRequest("metadata_channel_set", ("#a", "url", None))) == OK
    assert ask(engine, AccountRequest("metadata_channels")) == (("#a", "avatar", "x"),)


def test_channel_keys_go_with_the_registration_and_follow_its_rename(engine: Engine) -> None:
    _create(engine, "alice")
    _register(engine, "#a", "alice")
    _register(engine, "#b", "alice")
    ask(engine, AccountRequest("metadata_channel_set", ("#a", "url", "u")))
    ask(engine, AccountRequest("metadata_channel_set", ("#b", "url", "v")))
    assert ask(engine, AccountRequest("channel_drop", ("#b",))) == OK
    assert ask(engine, AccountRequest("metadata_channels")) == (("#a", "url", "u"),)
    with engine.begin() as conn:  # as the channel-rename writer does it
        conn.exec_driver_sql("UPDATE channel_registrations SET key = '#new', name = '#new'"
                             " WHERE key = '#a'")
    assert ask(engine, AccountRequest("metadata_channels")) == (("#new", "url", "u"),)
    # Dropping the founder's account drops its registrations and their keys.
    assert ask(engine, AccountRequest("delete", ("alice",))) == OK
    assert _count(engine, "channel_metadata") == 0
