"""Search across history (soju.im/search), the worker's side: the index's names and the query.

The index itself is migration 0007's: on SQLite an external-content FTS5 table
``history_fts`` kept by triggers on ``history``, on PostgreSQL a GIN index on
``to_tsvector('simple', text)``. It lives outside the models (``schema``), so
autogenerate and ``alembic check`` are told to leave it alone (``include_name``).
"""

from __future__ import annotations

FTS_TABLE = "history_fts"
PG_INDEX = "ix_history_search"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: False for the search index's tables and index."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)
