"""One lookup every account-owned table needs: the account's row id from its name."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ircish.protocol import casefold
from ircish.store.schema import accounts


def account_id(conn: Connection, name: str) -> int | None:
    """The id of the account called ``name`` (compared casefolded), or None if there is none."""
    found = conn.execute(select(accounts.c.id).where(accounts.c.key == casefold(name))).scalar()
    return None if found is None else int(found)
