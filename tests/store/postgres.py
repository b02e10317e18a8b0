"""A new PostgreSQL database per test, on the server ``IRCISH_TEST_POSTGRES_URL`` names."""

from __future__ import annotations

import atexit
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

ENV = "IRCISH_TEST_POSTGRES_URL"

SKIP_REASON = (
    f"no PostgreSQL to test on: set {ENV} (e.g. from `.ci/postgres start`, which "
    "needs Debian's postgresql package)"
)


def admin_url() -> str:
    url = os.environ.get(ENV, "")
    if not url:
        pytest.skip(SKIP_REASON)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'ircish[postgres]'")
    return url


# This process's migrated template (its name), made on first use: copying it is several
# times cheaper than running every migration again for each test.
_template: str | None = None


def _migrated_template(admin: Engine) -> str:
    global _template
    if _template is None:
        from sqlalchemy import text

        from ircish.store import migrate
        from ircish.store.database import open_engine

        # Of this process alone: a copy fails while another session is connected to its
        # source, as one migrating it would be.
        name = f"ircish_template_{secrets.token_hex(6)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = open_engine(admin.url.set(database=name))
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        atexit.register(_drop_template, admin.url, name)
        _template = name
    return _template


def _drop_template(url: URL, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception:
        pass  # the cluster is gone already: it took the template with it
    finally:
        admin.dispose()


@contextmanager
def fresh_database(migrated: bool = False) -> Iterator[str]:
    """The URL of a database created for this test; dropped (with its connections) after.

    ``migrated``: already at the newest revision (a copy of a template migrated once per
    test process), for tests that need the schema but are not about migrating.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(admin_url())
    name = f"ircish_test_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        template = f' TEMPLATE "{_migrated_template(admin)}"' if migrated else ""
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE: a worker process or pooled engine may still hold a connection.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
