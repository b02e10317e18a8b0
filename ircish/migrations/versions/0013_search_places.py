"""Search on PostgreSQL: one GIN index of the words and the line's place.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:40:00.000000

0010's GIN index held the words only, so a search in some channels read every
match of its words through the index and then either fetched each match's line
to see its channel or added every line of those channels (the channels' btree
index) to the bitmap: for two middling words over a million lines, tens of
milliseconds either way. This index has a second column beside the words of
each PRIVMSG and NOTICE: a one-lexeme vector naming the line's target key,
written after a space (the text parser splits at spaces, so no word of a text
is ever such a lexeme). A search asks the first column for its words and the
second for any of its channels; GIN walks both together and hands out only the
matches in those channels. A walk over the newest lines instead reads the
stored column itself and computes only the small second vector.

PostgreSQL: ``ix_history_search_places``, GIN on ``(search_vector,
array_to_tsvector(ARRAY[' ' || target_key]))`` (the words NULL, so not indexed,
for the kinds 0010's column leaves NULL). Not partial: PostgreSQL keeps
statistics for an index's expression (ANALYZE, run here) only when the index is
not partial, and the planner needs them to know how many lines a channel has.
It replaces 0010's ``ix_history_search_vector``, so a stored message still
updates one search index; the column stays. Building it takes about half a
minute per million lines, during which writes to ``history`` wait.

SQLite and other databases: nothing (FTS5 from 0007 is unchanged).

The downgrade puts 0010's index back and drops this one; no stored line changes.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "('PRIVMSG', 'NOTICE')"

_UP = (
    "CREATE INDEX ix_history_search_places ON history USING gin"
    " (search_vector, (array_to_tsvector(ARRAY[' ' || target_key])))",
    "DROP INDEX IF EXISTS ix_history_search_vector",
    "ANALYZE history",
)

_DOWN = (
    "CREATE INDEX IF NOT EXISTS ix_history_search_vector ON history USING gin (search_vector)"
    f" WHERE kind IN {_KINDS}",
    "DROP INDEX IF EXISTS ix_history_search_places",
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
