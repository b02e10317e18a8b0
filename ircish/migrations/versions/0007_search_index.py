"""Search: a full-text index of stored PRIVMSG and NOTICE texts (soju.im/search).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00.000000

SQLite: an external-content FTS5 table ``history_fts`` over ``history.text``
(its rowid is ``history.id``), kept by three triggers on ``history``, so every
writer (the history writer, retention, REDACT's delete) keeps it right without
knowing of it. ``unicode61 remove_diacritics 2`` folds case and accents of any
script that separates words by spaces; ``columnsize=0`` leaves out the per-row
sizes only ranking would need (results come newest first, not by rank), which
saves one write per line. The upgrade indexes the rows already there.

PostgreSQL: a GIN index on ``to_tsvector('simple', text)``, partial to the two
kinds. The 'simple' configuration only lowercases: no stemming and no stop
words of one language, for chat in many. An expression index and no column:
nothing for the writer to fill in and no rewrite of the table.

A later migration that recreates ``history`` on SQLite (a batch "copy and
move") drops these triggers with the old table and must create them again;
``tests/store/test_search_migration.py`` checks they exist at head.

The downgrade drops the index (and the triggers); no stored line changes.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "('PRIVMSG', 'NOTICE')"

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE history_fts USING fts5(text, content='history', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2', columnsize=0)",
    f"INSERT INTO history_fts(rowid, text) SELECT id, text FROM history WHERE kind IN {_KINDS}",
    f"CREATE TRIGGER history_fts_insert AFTER INSERT ON history WHEN new.kind IN {_KINDS}"
    " BEGIN INSERT INTO history_fts(rowid, text) VALUES (new.id, new.text); END",
    # An external-content index forgets a row only when told its old text.
    f"CREATE TRIGGER history_fts_delete AFTER DELETE ON history WHEN old.kind IN {_KINDS}"
    " BEGIN INSERT INTO history_fts(history_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER history_fts_update AFTER UPDATE OF text, kind ON history BEGIN"
    " INSERT INTO history_fts(history_fts, rowid, text)"
    f" SELECT 'delete', old.id, old.text WHERE old.kind IN {_KINDS};"
    " INSERT INTO history_fts(rowid, text)"
    f" SELECT new.id, new.text WHERE new.kind IN {_KINDS}; END",
)

_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS history_fts_update",
    "DROP TRIGGER IF EXISTS history_fts_delete",
    "DROP TRIGGER IF EXISTS history_fts_insert",
    "DROP TABLE IF EXISTS history_fts",
)

_POSTGRES_UP = (
    "CREATE INDEX ix_history_search ON history USING gin"
    f" (to_tsvector('simple'::regconfig, text)) WHERE kind IN {_KINDS}",
)

_POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_history_search",)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_UP)
    elif dialect == "postgresql":
        _run(_POSTGRES_UP)
    # Other databases: no index; the store matches words with ILIKE there.


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(_SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(_POSTGRES_DOWN)
