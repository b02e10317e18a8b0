"""Network bans, worker side: the ``ban_*`` requests (``AccountRequest`` ops).

``ban_list`` answers every stored ``Ban``; ``ban_add`` (ban) stores one,
replacing a ban of the same kind and mask; ``ban_del`` (kind, mask) answers
``OK`` or ``NO_SUCH``; ``ban_expire`` (now) deletes the bans whose time is up.
The rules (what a mask is, who matches) are ``ircish.core.bans``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ircish.accounts.records import NO_SUCH, OK, AccountRequest
from ircish.core.bans import Ban
from ircish.store.schema import network_bans

OPS = frozenset({"ban_list", "ban_add", "ban_del", "ban_expire"})


def answer(conn: Connection, request: AccountRequest) -> Any:
    op, args = request.op, request.args
    table = network_bans
    if op == "ban_list":
        rows = conn.execute(select(table).order_by(table.c.kind, table.c.mask))
        return [Ban(r.kind, r.mask, r.reason, r.set_by, int(r.set_at), int(r.expires))
                for r in rows]
    if op == "ban_add":
        ban: Ban = args[0]
        conn.execute(delete(table).where(table.c.kind == ban.kind, table.c.mask == ban.mask))
        conn.execute(insert(table).values(kind=ban.kind, mask=ban.mask, reason=ban.reason,
                                          set_by=ban.set_by, set_at=ban.set_at,
                                          expires=ban.expires))
        return OK
    if op == "ban_del":
        kind, mask = args
        result = conn.execute(delete(table).where(table.c.kind == kind, table.c.mask == mask))
        return OK if result.rowcount else NO_SUCH
    if op == "ban_expire":
        now = args[0]
        conn.execute(delete(table).where(table.c.expires != 0, table.c.expires <= now))
        return OK
    raise ValueError(f"unknown ban operation {op!r}")
