"""ChanServ's channel registrations, worker side (ops ``channel_*`` of an ``AccountRequest``).

The channel's topic, modes and bans are not here: they travel as
``ChannelStateEvent`` to the writer like a +P channel's. This table holds who
founded the channel; the primary key on the casefolded name settles two
registrations of one channel at once (the loser is answered ``EXISTS``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ircish.accounts.records import EXISTS, LIMIT, NO_SUCH, OK, AccountRequest, ChannelRegistration
from ircish.protocol import casefold
from ircish.store import account_ids
from ircish.store.schema import accounts, channel_registrations


def answer(conn: Connection, request: AccountRequest) -> Any:
    op, args = request.op, request.args
    if op == "channel_list":
        rows = conn.execute(
            select(channel_registrations, accounts.c.name.label("founder"))
            .join(accounts, accounts.c.id == channel_registrations.c.founder_id)
            .order_by(channel_registrations.c.key)
        )
        return [ChannelRegistration(r.name, r.founder, r.registered, r.registered_by)
                for r in rows]
    if op == "channel_register":
        channel, founder, micros, registered_by, most = args
        founder_id = account_ids.account_id(conn, founder)
        if founder_id is None:
            return NO_SUCH
        owned = conn.execute(
            select(func.count()).where(channel_registrations.c.founder_id == founder_id)
        ).scalar_one()
        if owned >= most:
            return LIMIT
        try:
            with conn.begin_nested():
                conn.execute(insert(channel_registrations).values(
                    key=casefold(channel), name=channel, founder_id=founder_id,
                    registered=micros, registered_by=registered_by))
        except IntegrityError:
            return EXISTS
        return OK
    if op == "channel_drop":
        result = conn.execute(delete(channel_registrations).where(
            channel_registrations.c.key == casefold(args[0])))
        return OK if result.rowcount else NO_SUCH
    raise ValueError(f"unknown channel registration operation {op!r}")


def forget_founder(conn: Connection, account_id: int) -> None:
    """An account is being deleted: its channels are registered no more."""
    conn.execute(delete(channel_registrations).where(
        channel_registrations.c.founder_id == account_id))
