"""Metadata, worker side: the account requests ``ircish.metadata`` makes.

- ``metadata_get`` (account): the account's keys as ``((key, value), ...)``;
- ``metadata_set`` (account, key, value or None): set or remove one key;
- ``metadata_channels``: every registered channel's keys, ``((channel_key, key,
  value), ...)``, read once at start;
- ``metadata_channel_set`` (channel_key, key, value or None) and
  ``metadata_channel_replace`` (channel_key, ((key, value), ...)): change a
  registered channel's keys.

An account or channel registration that is gone answers ``NO_SUCH``. The rows go
with their owner (foreign keys with ON DELETE CASCADE, and ON UPDATE CASCADE for
a renamed registration).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ircish.accounts.records import NO_SUCH, OK, AccountRequest
from ircish.protocol import casefold
from ircish.store import account_ids
from ircish.store.schema import account_metadata, channel_metadata, channel_registrations

OPS = frozenset({"metadata_get", "metadata_set", "metadata_channels", "metadata_channel_set",
                 "metadata_channel_replace"})


def answer(conn: Connection, request: AccountRequest) -> Any:
    op, args = request.op, request.args
    if op == "metadata_channels":
        rows = conn.execute(
            select(channel_metadata.c.channel_key, channel_metadata.c.key,
                   channel_metadata.c.value)
            .order_by(channel_metadata.c.channel_key, channel_metadata.c.key)
        ).all()
        return tuple((channel, key, value) for channel, key, value in rows)
    if op.startswith("metadata_channel_"):
        return _channel(conn, op, args)
    account_id = account_ids.account_id(conn, args[0])
    if account_id is None:
        return NO_SUCH
    if op == "metadata_get":
        rows = conn.execute(
            select(account_metadata.c.key, account_metadata.c.value)
            .where(account_metadata.c.account_id == account_id)
            .order_by(account_metadata.c.key)
        ).all()
        return tuple((key, value) for key, value in rows)
    if op == "metadata_set":
        _, key, value = args
        _put(conn, account_metadata, account_metadata.c.account_id, account_id, key, value)
        return OK
    raise ValueError(f"unknown metadata operation {op!r}")


def _channel(conn: Connection, op: str, args: tuple[Any, ...]) -> Any:
    channel_key = casefold(args[0])
    registered = conn.execute(
        select(channel_registrations.c.key).where(channel_registrations.c.key == channel_key)
    ).scalar()
    if registered is None:
        return NO_SUCH
    owner = channel_metadata.c.channel_key
    if op == "metadata_channel_set":
        _, key, value = args
        _put(conn, channel_metadata, owner, channel_key, key, value)
        return OK
    if op == "metadata_channel_replace":
        conn.execute(delete(channel_metadata).where(owner == channel_key))
        pairs = args[1]
        if pairs:
            conn.execute(insert(channel_metadata), [
                {"channel_key": channel_key, "key": key, "value": value}
                for key, value in pairs])
        return OK
    raise ValueError(f"unknown metadata operation {op!r}")


def _put(conn: Connection, table: Any, owner: Any, owner_value: Any, key: str,
         value: str | None) -> None:
    where = (owner == owner_value) & (table.c.key == key)
    if value is None:
        conn.execute(delete(table).where(where))
        return
    # One writer task per server sends these in order, so update-then-insert is
    # enough; the primary key refuses a second row for one key regardless.
    if conn.execute(update(table).where(where).values(value=value)).rowcount == 0:
        conn.execute(insert(table).values({owner.name: owner_value, "key": key, "value": value}))
