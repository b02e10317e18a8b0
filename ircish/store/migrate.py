"""Alembic, configured from Python: no alembic.ini is needed to migrate.

The scripts live in ``ircish/migrations/``, inside the package, so an installed
wheel can migrate without a checkout. ``env.py`` there uses the connection
passed in ``Config.attributes`` when there is one, so the server and the tests
can migrate a database they already have open.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ircish.store.database import open_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(engine: Engine, *, stdout: io.TextIOBase | None = None) -> Config:
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise FileNotFoundError(
            f"the migration scripts are missing: expected {MIGRATIONS_DIR}/env.py"
        )
    cfg = Config(stdout=stdout) if stdout is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URL-escaped passwords contain.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _run(engine: Engine, action: Callable[[Config], None], stdout: io.TextIOBase | None) -> None:
    cfg = alembic_config(engine, stdout=stdout)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        action(cfg)


def migration_engine(engine: Engine) -> Engine:
    """A separate engine with foreign keys off, as batch migrations need."""
    return open_engine(engine.url, foreign_keys=False)


def upgrade(engine: Engine, revision: str = "head", stdout: io.TextIOBase | None = None) -> None:
    mig = migration_engine(engine)
    try:
        _run(mig, lambda cfg: command.upgrade(cfg, revision), stdout)
    finally:
        mig.dispose()


def downgrade(engine: Engine, revision: str, stdout: io.TextIOBase | None = None) -> None:
    mig = migration_engine(engine)
    try:
        _run(mig, lambda cfg: command.downgrade(cfg, revision), stdout)
    finally:
        mig.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
