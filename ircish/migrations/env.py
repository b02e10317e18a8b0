"""Alembic environment for ircish.

Used two ways: by ``ircish.store.migrate`` (the server at start, the ``db`` CLI
and the tests), which passes an open connection in ``config.attributes``; and by
``alembic`` run by hand with ``alembic.ini``, which gives a URL.

``render_as_batch`` makes autogenerate write SQLite-safe "copy and move"
operations, since SQLite's ALTER TABLE cannot change or drop most things.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ircish.store.database import open_engine
from ircish.store.schema import metadata
from ircish.store.search import include_name

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
        # The search index (0007) lives outside the models: leave it alone.
        include_name=include_name,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        render_as_batch=True,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url in alembic.ini, e.g. sqlite:///ircish.db")
    # Foreign keys off: batch migrations drop and recreate tables (see database.py).
    engine = open_engine(url, foreign_keys=False)
    try:
        with engine.begin() as conn:
            _configure(conn)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
