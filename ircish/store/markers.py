"""Read markers, worker side: the two account requests draft/read-marker makes.

``read_markers`` (account) answers every stored marker of an account as
``((target_key, micros), ...)``; ``read_marker_set`` (account, target_key,
micros) keeps the later of the stored time and the new one and answers the
time now stored. Both answer ``NO_SUCH`` for an account that is gone. The
server side is ``ircish.accounts.read_markers``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from ircish.accounts.records import NO_SUCH, AccountRequest
from ircish.store import account_ids
from ircish.store.schema import read_markers

OPS = frozenset({"read_markers", "read_marker_set"})


def answer(conn: Connection, request: AccountRequest) -> Any:
    op, args = request.op, request.args
    account_id = account_ids.account_id(conn, args[0])
    if account_id is None:
        return NO_SUCH
    if op == "read_markers":
        rows = conn.execute(
            select(read_markers.c.target_key, read_markers.c.time)
            .where(read_markers.c.account_id == account_id)
            .order_by(read_markers.c.target_key)
        ).all()
        return tuple((key, int(micros)) for key, micros in rows)
    _, target_key, micros = args
    where = (read_markers.c.account_id == account_id) & (read_markers.c.target_key == target_key)
    stored = conn.execute(select(read_markers.c.time).where(where)).scalar()
    if stored is None:
        conn.execute(insert(read_markers).values(
            account_id=account_id, target_key=target_key, time=micros))
        return micros
    if micros > stored:
        # Never backwards, even if two sessions' updates cross on the way here.
        conn.execute(update(read_markers).where(where, read_markers.c.time < micros)
                     .values(time=micros))
        return micros
    return int(stored)
