"""Search on PostgreSQL: a stored tsvector column the planner has statistics for.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:10:00.000000

0007's GIN index on the expression ``to_tsvector('simple', text)`` was partial,
and PostgreSQL keeps no statistics it will use for a partial index's expression:
it guessed a handful of rows for any word, so for two common words it read every
match through the index and sorted them, where walking the newest ids back
stops after 50. A column has statistics of its own (the most common words and
their frequencies, from ANALYZE), so the planner can weigh one plan against the
other per query.

PostgreSQL: ``history.search_vector``, ``GENERATED ALWAYS AS (...) STORED``,
the 'simple' vector of the text for PRIVMSG and NOTICE and NULL for every other
kind (those are never searched, so nothing is computed or stored for them); a
GIN index ``ix_history_search_vector`` on it, partial to the two kinds; 0007's
expression index goes; ANALYZE so the first search has the statistics. Adding
a stored generated column rewrites the table once (minutes for tens of millions
of lines, under an exclusive lock), and every insert of a message computes its
vector once, as the expression index did already.

SQLite and other databases: nothing (FTS5 from 0007 has no planner to mislead).

The column lives outside the models (``schema``): autogenerate and ``alembic
check`` leave it and its index alone (``store/search.include_name``). The
downgrade puts 0007's index back and drops the column; no stored line changes.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "('PRIVMSG', 'NOTICE')"

_UP = (
    "ALTER TABLE history ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
    f" (CASE WHEN kind IN {_KINDS} THEN to_tsvector('simple'::regconfig, text) END) STORED",
    "CREATE INDEX ix_history_search_vector ON history USING gin (search_vector)"
    f" WHERE kind IN {_KINDS}",
    "DROP INDEX IF EXISTS ix_history_search",
    "ANALYZE history",
)

_DOWN = (
    "CREATE INDEX IF NOT EXISTS ix_history_search ON history USING gin"
    f" (to_tsvector('simple'::regconfig, text)) WHERE kind IN {_KINDS}",
    "DROP INDEX IF EXISTS ix_history_search_vector",
    "ALTER TABLE history DROP COLUMN IF EXISTS search_vector",
)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run(_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run(_DOWN)
