"""PostgreSQL: history's four private-conversation indexes hold private lines only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:40:00.000000

``ix_history_sender_session``, ``ix_history_recipient_session``,
``ix_history_recipient_account`` (each ``WHERE <its first column> IS NOT NULL``)
and ``ix_history_account`` (``WHERE recipient_key IS NOT NULL``) become partial.
Those columns are NULL on every channel line (``account`` is the sender's on
any line, but only private lines have a ``recipient_key``), and every query that
reads through these indexes names a private line's value (``col = :value``) or
asks ``recipient_key IS NOT NULL`` itself (``store/queries.py``: the private
rows, ``all_private_rows``, ``_party_conversations``), so the planner still uses
them. A channel line, nearly all of the traffic, then updates three btree
indexes instead of seven: PostgreSQL's CPU per stored channel line fell from
20.0 to 15.5 µs (``benchmarks/RESULTS.md`` section 16). The search by sender
(``lower(account)``) never used ``ix_history_account``.

Each index is built again (a few seconds per million lines, writes to history
wait meanwhile). SQLite and other databases: nothing (their indexes stay whole;
the single server's behaviour is unchanged). The downgrade builds the whole
indexes again; no stored line changes either way.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, its first column, the rows it holds)
_INDEXES = (
    ("ix_history_sender_session", "sender_session", "sender_session IS NOT NULL"),
    ("ix_history_recipient_session", "recipient_session", "recipient_session IS NOT NULL"),
    ("ix_history_account", "account", "recipient_key IS NOT NULL"),
    ("ix_history_recipient_account", "recipient_account", "recipient_account IS NOT NULL"),
)


def _rebuild(partial: bool) -> None:
    for name, column, where in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON history ({column}, time, id)"
                   + (f" WHERE {where}" if partial else ""))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(partial=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(partial=False)
