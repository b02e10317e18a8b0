"""A new PostgreSQL database per test, on the server ``IRCISH_TEST_POSTGRES_URL`` names."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

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


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a database created for this test; dropped (with its connections) after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(admin_url())
    name = f"ircish_test_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE: a worker process or pooled engine may still hold a connection.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
